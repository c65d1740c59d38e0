"""Resolving ``--data`` specs: ``PATH``, ``FORMAT:PATH`` or ``builtin:NAME``, for the task in use; publishing
embedded datasets; dataset cards.

A dataset card (``cvkit-dataset.json`` at the root of a dataset's folder) carries the settings the data wants,
``{"name", "task", "format", "path", "defaults": {...}, "models": {name: {...}}}``. The core writes it when it
publishes an embedded dataset (``BuiltinDataset.card()``) and reads it for every ``--data`` (the folder given and
its parents, up to three levels), so ``builtin:digits`` and ``imagefolder:<the same files>`` train the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvkit.contract import BuiltinDataset, RawSplit
from cvkit.errors import CvkitError, UsageError

if TYPE_CHECKING:
    from cvkit.task import Task

CARD_NAME = "cvkit-dataset.json"
CARD_SEARCH_DEPTH = 3  # parents of the --data path searched for a card

SPLIT_ALIASES = {"valid": "val", "validation": "val"}


def normalize_split(split: str) -> str:
    return SPLIT_ALIASES.get(split.lower(), split.lower())


def cache_dir() -> Path:
    """The user cache folder for embedded datasets (``CVKIT_CACHE`` overrides it)."""
    if os.environ.get("CVKIT_CACHE"):
        return Path(os.environ["CVKIT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cvkit"


def parse_spec(task: Task, spec: str) -> tuple[str | None, str]:
    """Split a data spec into (format or 'builtin' or None, path-or-name)."""
    head, sep, rest = spec.partition(":")
    if sep and (head in ("builtin", "shards", "wds") or head in task.formats()):  # shards: cvkit.shards
        return head, rest
    if sep and len(head) > 1 and not Path(spec).exists() and "/" not in head:
        known = ", ".join(["builtin", *sorted(task.formats())])
        raise UsageError(f"--data {spec!r}: unknown format {head!r} for task {task.name!r} (known: {known})")
    return None, spec


def read_card(path: Path) -> dict[str, Any]:
    """The card of the dataset at ``path`` (a folder or file; its parents are searched too), or ``{}``."""
    path = Path(path).expanduser()
    folder = path if path.is_dir() else path.parent
    for candidate in [folder, *folder.parents][: CARD_SEARCH_DEPTH + 1]:
        card = candidate / CARD_NAME
        if card.is_file():
            try:
                doc = json.loads(card.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise CvkitError(f"{card}: not a readable dataset card ({exc})") from None
            if not isinstance(doc, dict):
                raise CvkitError(f"{card}: a dataset card is a JSON object")
            return doc
    return {}


def card_defaults(card: dict[str, Any], model: str) -> dict[str, Any]:
    """The settings a card recommends for ``model``: its ``models`` entry, else its ``defaults``."""
    models = card.get("models") or {}
    chosen = models.get(model, card.get("defaults") or {})
    return dict(chosen) if isinstance(chosen, dict) else {}


def fresh_folder(out: Path) -> Path:
    """The folder a ``BuiltinDataset.write`` fills: created, or refused (CvkitError) when it holds anything. The core
    publishes the finished folder atomically, so a writer needs no temporary folder of its own."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CvkitError(f"{out} exists and is not empty: remove it or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    return out


def publish_builtin(builtin: BuiltinDataset, final: Path, fmt: str, size: int | None, seed: int,
                    task: str = "", replace: bool = False) -> str:
    """Write ``builtin`` into a fresh folder beside ``final``, add its card, and move it to ``final`` atomically.

    ``final`` must be absent or an empty folder (``replace``: a complete earlier copy, which is swapped out).
    Returns the ``FORMAT:PATH`` spec that loads the published copy. Concurrent writers of the same ``final``
    (two commands filling the cache) leave one complete copy."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()  # not mkdtemp: the dataset keeps the user's umask, not mode 0700
    try:
        out = tmp / "data"
        out.mkdir()
        spec = builtin.write(out, fmt, size, seed)
        written_fmt, _, where = spec.partition(":")
        try:
            rel = Path(where).resolve().relative_to(out.resolve())
        except ValueError:
            raise CvkitError(f"builtin:{builtin.name} wrote outside its folder ({where})") from None
        card = {"name": builtin.name, "task": task, "format": written_fmt, "path": rel.as_posix(), "seed": seed,
                "size": size, "version": builtin.version, **builtin.card()}
        (out / CARD_NAME).write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
        _move_into_place(out, final, tmp, replace)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _card_spec(final)


def _card_spec(folder: Path, card: dict[str, Any] | None = None) -> str:
    card = card if card is not None else json.loads((folder / CARD_NAME).read_text(encoding="utf-8"))
    path = folder / card.get("path", ".") if card.get("path", ".") != "." else folder
    return f"{card['format']}:{path}"


def _move_into_place(out: Path, final: Path, tmp: Path, replace: bool) -> None:
    if final.is_dir() and not any(final.iterdir()):
        final.rmdir()
    elif final.exists() and replace:
        os.rename(final, tmp / "old")
    try:
        os.rename(out, final)
    except OSError:
        if not (final / CARD_NAME).exists():  # someone else won the race only if their copy is complete
            if final.exists():
                raise CvkitError(f"{final}: exists and is not empty; remove it or choose another folder") from None
            raise


def materialize_builtin(task: Task, name: str, seed: int = 0, size: int | None = None) -> str:
    """Write an embedded dataset into the cache once and return the ``FORMAT:PATH`` spec that loads it. A cached
    copy written by another version of the dataset's generator (``BuiltinDataset.version``; copies from before
    versions count as 1) is written again, so a changed generator never leaves old files in use."""
    builtins = task.builtins()
    if name not in builtins:
        known = ", ".join(sorted(builtins)) or "none"
        raise UsageError(f"unknown builtin dataset {name!r} for task {task.name!r} (known: {known})")
    builtin = builtins[name]
    tag = f"{name}-seed{seed}" + (f"-n{size}" if size else "")
    final = cache_dir() / "datasets" / task.name / tag
    card = _cached_card(final)
    if card is not None and card.get("version", 1) == builtin.version:
        return _card_spec(final, card)
    # a copy from before dataset cards (or an interrupted one, or one of another version) is replaced
    return publish_builtin(builtin, final, builtin.formats[0], size, seed, task.name, replace=final.exists())


def _cached_card(folder: Path) -> dict[str, Any] | None:
    """The card of a cached copy; None when there is none or it cannot be read (the copy is written again)."""
    try:
        card = json.loads((folder / CARD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return card if isinstance(card, dict) else None


def resolve(task: Task, spec: str | None) -> tuple[str, Path]:
    """Resolve a spec to (format name, path), materialising builtins and detecting formats."""
    spec = spec or task.spec.default_data
    fmt, rest = parse_spec(task, spec)
    if fmt == "builtin":
        fmt, rest = parse_spec(task, materialize_builtin(task, rest))
    path = Path(rest).expanduser()
    if not path.exists():
        raise CvkitError(f"--data {spec}: {path}: no such file or directory")
    if fmt is None:
        found = [name for name, f in task.formats().items() if f.detect(path)]
        if not found:
            known = ", ".join(sorted(task.formats()))
            raise CvkitError(
                f"--data {spec}: cannot tell the dataset format of {path}; force one with FORMAT:PATH ({known})"
            )
        fmt = found[0]
    return fmt, path


def load_split(task: Task, spec: str | None, split: str, options: dict[str, Any] | None = None) -> RawSplit:
    """Parse the annotations of one split of the dataset ``spec`` (no image is decoded)."""
    fmt, path = resolve(task, spec)
    if fmt in ("shards", "wds"):  # tar shards written by `cvkit data shard`, for any task (cvkit.shards)
        from cvkit.shards.reader import load_shard_split

        raw = load_shard_split(task, path, normalize_split(split))
    else:
        raw = task.formats()[fmt].load(path, normalize_split(split), dict(options or {}))
    raw.info.spec = f"{fmt}:{path}"
    return raw
