"""The on-disk layout of a shard folder and its index.

::

    DIR/cvkit-shards.json         manifest: format, version, task, source spec, and per split: DatasetInfo, sample
                                  count, shard names, index and targets files, skipped count
    DIR/cvkit-dataset.json        the source dataset's card (training defaults), when it had one
    DIR/<split>-000000.tar ...    plain POSIX tar shards (WebDataset layout: members of one sample share a key)
    DIR/<split>.index.json        {"shard": [...], "offset": [...], "size": [...], "name": [...]}: where each
                                  sample's image bytes lie (shard number, byte offset, byte size, member name)
    DIR/<split>.targets.json      [encoded raw annotation of sample 0, 1, ...] (cvkit.shards.codec)

Sample ``i`` of a split is stored as the members ``KEY/<image file name>`` and ``KEY/<image stem>.json``
(``{"source": original path, "target": encoded annotation}``) with ``KEY = f"{i:08d}"``; the original file name
is kept so that outputs keyed by file name (COCO image ids) stay the same. Its source as cvkit shows it is
``DIR/<shard>.tar/KEY/<image file name>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.errors import BadInput, CvkitError

MANIFEST = "cvkit-shards.json"
FORMAT = "cvkit-shards"
VERSION = 1
PREFIXES = ("shards", "wds")  # --data shards:DIR, or wds:DIR


@dataclass
class SplitTable:
    """Where every sample of one split lies: shard number, image offset and size, member name."""

    root: Path  # absolute folder of the shards
    split: str
    shards: list[str]  # shard file names, by shard number
    shard: np.ndarray  # int32 per sample
    offset: np.ndarray  # int64 per sample: first byte of the image data inside its shard
    size: np.ndarray  # int64 per sample: image bytes
    names: list[str]  # member name of each sample's image

    def __len__(self) -> int:
        return len(self.names)

    def shard_path(self, number: int) -> str:
        return str(self.root / self.shards[number])

    def source(self, index: int) -> str:
        return f"{self.shard_path(int(self.shard[index]))}/{self.names[index]}"


def sample_key(index: int) -> str:
    return f"{index:08d}"


def read_manifest(root: Path) -> dict[str, Any]:
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise CvkitError(f"{root}: not a shard folder (no {MANIFEST}; write one with `cvkit data shard`)")
    doc = _read_json(path)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("splits"), dict):
        raise BadInput(path, f"not a {FORMAT} manifest")
    if doc.get("version") != VERSION:
        raise BadInput(path, f"shard format version {doc.get('version')!r} (this cvkit reads {VERSION})")
    return doc


def split_entry(root: Path, manifest: dict[str, Any], split: str) -> dict[str, Any]:
    splits = manifest["splits"]
    if split not in splits:
        raise CvkitError(f"{Path(root) / MANIFEST}: no split {split!r} (splits here: {', '.join(splits) or 'none'})")
    return splits[split]


def read_table(root: Path, manifest: dict[str, Any], split: str) -> SplitTable:
    root = Path(root).absolute()
    entry = split_entry(root, manifest, split)
    path = root / entry["index"]
    doc = _read_json(path)
    try:
        table = SplitTable(root, split, list(entry["shards"]), np.asarray(doc["shard"], np.int32),
                           np.asarray(doc["offset"], np.int64), np.asarray(doc["size"], np.int64),
                           [str(n) for n in doc["name"]])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInput(path, f"not a shard index ({exc})") from None
    n = len(table.names)
    if not (len(table.shard) == len(table.offset) == len(table.size) == n == entry.get("count", n)):
        raise BadInput(path, "index columns have different lengths")
    if n and (table.shard.min() < 0 or table.shard.max() >= len(table.shards)):
        raise BadInput(path, "index names a shard the manifest does not list")
    return table


def read_targets(root: Path, manifest: dict[str, Any], split: str) -> list[Any]:
    """The raw annotations of a split, decoded once (one JSON document, no per-sample parsing)."""
    from cvkit.shards.codec import decode

    entry = split_entry(root, manifest, split)
    path = Path(root) / entry["targets"]
    encoded = _read_json(path)
    if not isinstance(encoded, list) or len(encoded) != entry.get("count", len(encoded)):
        raise BadInput(path, "targets file does not match the index")
    try:
        return [decode(t) for t in encoded]
    except (KeyError, TypeError, ValueError, AttributeError, ImportError) as exc:
        raise BadInput(path, f"unreadable annotation ({exc})") from None


def _read_json(path: Path) -> Any:
    try:
        with open(path, "rb") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise BadInput(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(path, f"cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BadInput(path, f"not valid JSON ({exc.msg})", where=f"line {exc.lineno}, column {exc.colno}") from None
