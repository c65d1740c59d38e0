"""Expanding SOURCE arguments lazily: files, folders (searched recursively), globs, and ``-`` (stdin lines)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator

from cvkit.io.imagesize import IMAGE_EXTENSIONS
from cvkit.io.walk import glob_files, iter_files


def expand_sources(args: Iterable[str], extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> Iterator[str]:
    """Yield input paths in order, as given (a missing file is yielded too: it becomes an error record)."""
    for arg in args:
        if arg == "-":
            for line in sys.stdin:
                line = line.strip()
                if line:
                    yield line
        elif arg.startswith(("shards:", "wds:")):  # every sample of a shard folder, or of one shard (cvkit.shards)
            from cvkit.shards.reader import shard_sources

            yield from shard_sources(arg.partition(":")[2])
        elif os.path.isdir(arg):
            yield from _walk(arg, extensions)
        elif any(ch in arg for ch in "*?[") and not os.path.exists(arg):
            for match in glob_files(arg):  # ** without following link loops
                if os.path.isdir(match):
                    yield from _walk(match, extensions)
                else:
                    yield match
        else:
            yield arg


def count_sources(args: list[str], extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> int | None:
    """How many inputs :func:`expand_sources` yields, for a progress total; None when that is not known
    beforehand (stdin, shard folders) or a walk fails."""
    if any(arg == "-" or arg.startswith(("shards:", "wds:")) for arg in args):
        return None
    try:
        return sum(1 for _ in expand_sources(args, extensions))
    except OSError:
        return None


def _walk(folder: str, extensions: tuple[str, ...]) -> Iterator[str]:
    """Files under ``folder`` in sorted walk order; each real file once, no link loops (cvkit.io.walk)."""
    yield from iter_files(folder, extensions)


def chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
