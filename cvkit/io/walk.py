"""Folder walks that visit each real file once: symbolic-link loops and links out of the root are not followed.

Every dataset loader and SOURCE expansion walks folders through :func:`iter_files` / :func:`walk_files`, so
``ln -s .. D/train/3/up`` cannot multiply a dataset. A link to a folder is followed only when it resolves inside the
walked root (or when asked: ``follow_links_out=True`` or ``CVKIT_FOLLOW_LINKS=1``), and never into a folder already
visited. Links to files are followed wherever they point (they cannot loop), but a real file is listed once per walk.
Each link that is not followed is named in a warning (the first few of a walk, then a count).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from cvkit.console import warn

FOLLOW_ENV = "CVKIT_FOLLOW_LINKS"
_NAMED = 3  # links named one by one per walk; the rest are counted


def follow_links_requested() -> bool:
    """True when the user asked to follow folder links that leave the dataset root (``CVKIT_FOLLOW_LINKS=1``)."""
    return os.environ.get(FOLLOW_ENV, "").strip().lower() in ("1", "true", "yes")


def iter_files(root: str | Path, extensions: Iterable[str] | None = None, follow_links_out: bool = False,
               quiet: bool = False, skip_hidden: bool = False, recursive: bool = True) -> Iterator[str]:
    """Files under ``root`` in ``os.walk`` order (a folder's files sorted by name, then its sorted subfolders),
    whose suffix is in ``extensions`` (compared lower-case, with the dot; None: every file). Paths are yielded as
    found under ``root``, not resolved. ``skip_hidden`` ignores names starting with a dot."""
    exts = None if extensions is None else {e.lower() for e in extensions}
    root = str(root)
    follow_out = follow_links_out or follow_links_requested()
    real_root = os.path.realpath(root)
    seen_dirs: set[str] = set()
    seen_files: set[str] = set()
    skipped: list[str] = []

    def skip(path: str, why: str) -> None:
        skipped.append(path)
        if not quiet and len(skipped) <= _NAMED:
            warn(f"{path}: link not followed ({why})")

    def visit(folder: str) -> Iterator[str]:
        here = os.path.realpath(folder)
        seen_dirs.add(here)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            return
        subfolders: list[tuple[str, bool]] = []
        for entry in entries:
            if skip_hidden and entry.name.startswith("."):
                continue
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir()  # follows links
                is_file = not is_dir and entry.is_file()
            except OSError:
                continue
            if is_dir:
                if not recursive:
                    continue
                subfolders.append((entry.path, is_link))
            elif is_file:
                if exts is not None and os.path.splitext(entry.name)[1].lower() not in exts:
                    continue
                key = os.path.realpath(entry.path) if is_link else os.path.join(here, entry.name)
                if key not in seen_files:
                    seen_files.add(key)
                    yield entry.path
            elif is_link:
                skip(entry.path, "a broken link or a link loop")
        for path, is_link in subfolders:
            if not is_link:
                yield from visit(path)
                continue
            real = os.path.realpath(path)
            if real in seen_dirs or _within(here, real):  # the same folder again, or an ancestor
                skip(path, "a loop back to a folder already walked")
            elif not follow_out and not _within(real, real_root):
                skip(path, f"it leaves {root}; set {FOLLOW_ENV}=1 to follow such links")
            else:
                yield from visit(path)

    yield from visit(root)
    if not quiet and len(skipped) > _NAMED:
        warn(f"{root}: {len(skipped) - _NAMED} more link(s) not followed")


def glob_files(pattern: str) -> list[str]:
    """``glob.glob(pattern, recursive=True)`` without following link loops: a pattern with ``**`` is matched
    against :func:`iter_files` of the folder before its first wildcard (hidden names left out, as glob does);
    other patterns go to :mod:`glob`, which does not recurse. Sorted."""
    import glob

    if "**" not in pattern:
        return sorted(glob.glob(pattern))
    parts = pattern.split(os.sep)
    fixed = next(i for i, part in enumerate(parts) if any(ch in part for ch in "*?["))
    base = os.sep.join(parts[:fixed]) or ("/" if pattern.startswith(os.sep) else ".")
    regex = re.compile(_translate(pattern), re.DOTALL)
    found = iter_files(base, skip_hidden=True)
    if not fixed and base == ".":
        found = (p[2:] for p in found)  # "./a/x.png" -> "a/x.png", as glob writes it
    return sorted(p for p in found if regex.fullmatch(p))


def _translate(pattern: str) -> str:
    """A glob pattern as a regular expression: ``**/`` any folders (or none), ``*`` and ``?`` within a name."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append(r"(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(r".*")
            i += 2
        elif pattern[i] == "*":
            out.append(r"[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append(r"[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1:end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def _within(path: str, folder: str) -> bool:
    """True when the resolved ``path`` is ``folder`` or lies below it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def walk_files(root: str | Path, extensions: Iterable[str] | None = None, follow_links_out: bool = False,
               quiet: bool = False, skip_hidden: bool = False, recursive: bool = True) -> list[str]:
    """:func:`iter_files` as a list."""
    return list(iter_files(root, extensions, follow_links_out, quiet, skip_hidden, recursive))
