"""Reading shards: a split as a ``RawSplit`` for any task, and image bytes by member path with ``os.pread``.

A shard split becomes the same ``RawSplit`` the source format gave (same DatasetInfo, same raw targets, in the
same order), whose sources are member paths ``DIR/<shard>.tar/KEY/<file name>``. The task builds its usual
map-style dataset on it, so the seeded resumable sampler, the rank split and exact evaluation work unchanged;
``cvkit.io.images.read_image`` asks :func:`read_member` for the bytes of a path inside a ``.tar`` file.

Random access costs one ``pread`` per image on a file handle each process (DataLoader worker) opens once per
shard: no per-sample file open or directory walk, and no tar header parsing (offsets come from the index).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cvkit.errors import BadInput, CvkitError
from cvkit.shards.index import SplitTable, read_manifest, read_table, read_targets

MAX_OPEN = 256  # shard file handles kept open per process

_TABLES: dict[str, tuple[SplitTable, int]] = {}  # absolute shard path -> (its split's table, shard number)
_FDS: dict[tuple[int, str], int] = {}  # (pid, shard path) -> file descriptor


def register(table: SplitTable) -> None:
    """Make the members of ``table``'s shards readable by path in this process (and in forked workers)."""
    for number in range(len(table.shards)):
        _TABLES[table.shard_path(number)] = (table, number)


def load_shard_split(task: Any, root: Path, split: str) -> Any:
    """The ``RawSplit`` of ``split`` stored under ``root`` by ``cvkit data shard``."""
    from cvkit.task import DatasetInfo, RawSplit

    root = Path(root).absolute()
    manifest = read_manifest(root)
    if manifest.get("task") and manifest["task"] != task.name:
        raise CvkitError(f"{root}: shards written for task {manifest['task']!r}, not {task.name!r}")
    table = read_table(root, manifest, split)
    targets = read_targets(root, manifest, split)
    if len(targets) != len(table):
        raise BadInput(root / manifest["splits"][split]["targets"], "targets file does not match the index")
    register(table)
    entry = manifest["splits"][split]
    info = DatasetInfo.from_dict(entry["info"])
    info.spec = f"shards:{root}"
    sources = [table.source(i) for i in range(len(table))]
    files = [root / entry["index"], root / entry["targets"]]
    return RawSplit(info, sources, targets, files, int(entry.get("skipped", 0)))


def split_member(path: str | Path) -> tuple[str, str] | None:
    """``(shard path, member name)`` when ``path`` runs through a ``.tar`` file, else None."""
    text = os.path.abspath(str(path))
    head, sep, member = text.partition(".tar/")
    while sep:
        shard = head + ".tar"
        if os.path.isfile(shard):
            return shard, member
        more_head, sep, member = member.partition(".tar/")
        head = f"{shard}/{more_head}"
    return None


def read_member(path: str | Path) -> bytes | None:
    """The bytes of the image at ``DIR/<shard>.tar/KEY/<name>``; None when ``path`` is not inside a tar file.

    BadInput (naming the path) for a member the index does not list or a truncated shard."""
    found = split_member(path)
    if found is None:
        return None
    shard, member = found
    table, number = _table_of(shard, path)
    key = member.split("/", 1)[0]
    index = int(key) if key.isdigit() else -1
    if not (0 <= index < len(table) and int(table.shard[index]) == number and table.names[index] == member):
        raise BadInput(path, f"no such sample in shard {Path(shard).name}")
    size, offset = int(table.size[index]), int(table.offset[index])
    try:
        data = os.pread(_fd(shard), size, offset)
    except OSError as exc:
        raise BadInput(path, f"cannot read shard: {exc.strerror or exc}") from None
    if len(data) != size:
        raise BadInput(path, f"shard {Path(shard).name} is truncated ({len(data)} of {size} bytes)")
    return data


def _table_of(shard: str, path: str | Path) -> tuple[SplitTable, int]:
    """The registered table of ``shard``; else (a spawned process, or predict) read from the shard's folder."""
    hit = _TABLES.get(shard)
    if hit is not None:
        return hit
    root = Path(shard).parent
    try:
        manifest = read_manifest(root)
    except CvkitError:
        raise BadInput(path, f"{Path(shard).name} is not a cvkit shard (no {root.name}/cvkit-shards.json)") from None
    name = Path(shard).name
    for split, entry in manifest["splits"].items():
        if name in entry.get("shards", []):
            register(read_table(root, manifest, split))
            return _TABLES[shard]
    raise BadInput(path, f"the manifest of {root} does not list {name}")


def _fd(shard: str) -> int:
    key = (os.getpid(), shard)
    fd = _FDS.get(key)
    if fd is None:
        if len(_FDS) >= MAX_OPEN:
            for (pid, _), old in list(_FDS.items()):
                if pid == key[0]:
                    os.close(old)
            _FDS.clear()
        fd = _FDS[key] = os.open(shard, os.O_RDONLY)
    return fd


def shard_sources(root: str | Path) -> list[str]:
    """Every sample's source of every split under ``root`` (or of one shard file), for ``cvkit predict``."""
    root = Path(root).absolute()
    one = root.name if root.is_file() else None
    folder = root.parent if one else root
    manifest = read_manifest(folder)
    out = []
    for split in manifest["splits"]:
        table = read_table(folder, manifest, split)
        register(table)
        out += [table.source(i) for i in range(len(table)) if one is None or table.shards[table.shard[i]] == one]
    return out
