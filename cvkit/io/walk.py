"""Folder walks that visit each real file once: symbolic-link loops and links out of the root are not followed.

Every dataset loader and SOURCE expansion walks folders through :func:`walk_files`, so ``ln -s .. D/train/3/up``
cannot multiply a dataset. A link to a folder is followed only when it resolves inside the walked root (or when
``follow_links_out`` is set), and never into a folder already visited; each skipped link is reported once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from cvkit.console import warn


def walk_files(root: str | Path, extensions: Iterable[str] | None = None, follow_links_out: bool = False,
               quiet: bool = False) -> list[str]:
    """Every file under ``root`` (sorted walk order: folders and names sorted) whose suffix is in ``extensions``
    (lower-case, with the dot; None: every file). Paths are returned as found (under ``root``, not resolved)."""
    exts = None if extensions is None else {e.lower() for e in extensions}
    root = str(root)
    try:
        real_root = os.path.realpath(root)
    except OSError:
        return []
    seen_dirs: set[str] = set()
    seen_files: set[str] = set()
    out: list[str] = []

    def skip(path: str, why: str) -> None:
        if not quiet:
            warn(f"{path}: not followed ({why})")

    def visit(folder: str) -> None:
        real = os.path.realpath(folder)
        if real in seen_dirs:
            skip(folder, "a link back to a folder already visited")
            return
        seen_dirs.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        subdirs = []
        for entry in entries:
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir()  # follows links
                is_file = entry.is_file()
            except OSError:
                continue
            if is_link and (is_dir or is_file) and not follow_links_out:
                target = os.path.realpath(entry.path)
                if os.path.commonpath([target, real_root]) != real_root:
                    skip(entry.path, f"a link out of {root}")
                    continue
            if is_dir:
                subdirs.append(entry.path)
            elif is_file and (exts is None or os.path.splitext(entry.name)[1].lower() in exts):
                real_file = os.path.realpath(entry.path)
                if real_file in seen_files:
                    continue
                seen_files.add(real_file)
                out.append(entry.path)
            elif is_link and not is_dir and not is_file:
                skip(entry.path, "a broken link or a link loop")
        for sub in subdirs:
            visit(sub)

    visit(root)
    return out
