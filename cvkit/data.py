"""Resolving ``--data`` specs: ``PATH``, ``FORMAT:PATH`` or ``builtin:NAME``, for the task in use."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from cvkit.errors import CvkitError, UsageError
from cvkit.task import RawSplit, Task

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
    if sep and (head == "builtin" or head in task.formats()):
        return head, rest
    if sep and len(head) > 1 and not Path(spec).exists() and "/" not in head:
        known = ", ".join(["builtin", *sorted(task.formats())])
        raise UsageError(f"--data {spec!r}: unknown format {head!r} for task {task.name!r} (known: {known})")
    return None, spec


def materialize_builtin(task: Task, name: str, seed: int = 0, size: int | None = None) -> str:
    """Write an embedded dataset into the cache once and return the ``FORMAT:PATH`` spec that loads it."""
    builtins = task.builtins()
    if name not in builtins:
        known = ", ".join(sorted(builtins)) or "none"
        raise UsageError(f"unknown builtin dataset {name!r} for task {task.name!r} (known: {known})")
    builtin = builtins[name]
    tag = f"{name}-seed{seed}" + (f"-n{size}" if size else "")
    final = cache_dir() / "datasets" / task.name / tag
    marker = final / ".cvkit-format"
    if marker.exists():
        return f"{marker.read_text().strip()}:{final}"
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{tag}.", dir=final.parent))
    try:
        out = tmp / "data"
        spec = builtin.write(out, builtin.formats[0], size, seed)
        fmt = spec.partition(":")[0]
        (out / ".cvkit-format").write_text(fmt)
        try:
            os.rename(out, final)
        except OSError:
            if not marker.exists():  # someone else won the race only if their copy is complete
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return f"{marker.read_text().strip()}:{final}"


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
    raw = task.formats()[fmt].load(path, normalize_split(split), dict(options or {}))
    raw.info.spec = f"{fmt}:{path}"
    return raw
