"""Writing any task's dataset into tar shards with an index (``cvkit data shard``).

Each split is parsed by the task's own loader (``cvkit.data.load_split``); every sample's image file is copied
byte for byte into a shard, followed by its raw annotation as JSON. Shards are cut at ``shard_size`` bytes
(a sample never spans two shards). Everything is written into a temporary folder beside ``out`` that is renamed
into place at the end, so an interrupted run leaves nothing half-written under ``out``.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tarfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cvkit.errors import BadInput, CvkitError, UsageError
from cvkit.io.imagesize import IMAGE_EXTENSIONS
from cvkit.shards.codec import NotStorable, encode
from cvkit.shards.index import FORMAT, MANIFEST, VERSION, sample_key

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
BLOCK = 512
TEXT_ANNOTATIONS = (".json", ".jsonl", ".xml", ".txt", ".csv", ".yaml", ".yml")


def parse_size(text: str) -> int:
    """``1GB`` (10^9), ``500MB``, ``64MiB`` (2^20), ``2e9`` or plain bytes."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
    unit = m.group(2).lower() if m else None
    if m is None or unit not in _UNITS:
        raise UsageError(f"--shard-size {text!r}: expected a size such as 1GB, 500MB or 64MiB")
    size = int(float(m.group(1)) * _UNITS[unit])
    if size < 10 * BLOCK:
        raise UsageError(f"--shard-size {text!r}: too small (at least 5KiB)")
    return size


@dataclass
class SplitWriter:
    """Writes the shards of one split and collects its index columns."""

    folder: Path
    split: str
    shard_size: int
    shards: list[str] = field(default_factory=list)
    shard: list[int] = field(default_factory=list)
    offset: list[int] = field(default_factory=list)
    size: list[int] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    bytes: int = 0
    _tar: tarfile.TarFile | None = None
    _fh: Any = None

    def add(self, index: int, image: bytes, filename: str, note: bytes) -> None:
        need = 3 * BLOCK + _padded(len(image)) + _padded(len(note)) + 2 * BLOCK
        in_shard = bool(self.shard) and self.shard[-1] == len(self.shards) - 1
        if self._tar is None or (in_shard and self._tar.offset + need > self.shard_size):
            self._open()
        key = sample_key(index)
        member = f"{key}/{filename}"
        self._member(member, image)
        self.shard.append(len(self.shards) - 1)
        self.offset.append(self._tar.offset - _padded(len(image)))
        self.size.append(len(image))
        self.name.append(member)
        self._member(f"{key}/{filename.split('.', 1)[0] or key}.json", note)

    def _member(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        self._tar.addfile(info, io.BytesIO(data))

    def _open(self) -> None:
        self.close()
        name = f"{self.split}-{len(self.shards):06d}.tar"
        self._fh = open(self.folder / name, "wb")
        self._tar = tarfile.open(fileobj=self._fh, mode="w", format=tarfile.PAX_FORMAT)
        self.shards.append(name)

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self.bytes += self._fh.tell()
            self._fh.close()
            self._tar = self._fh = None

    def index(self) -> dict[str, Any]:
        return {"shard": self.shard, "offset": self.offset, "size": self.size, "name": self.name}


def _padded(n: int) -> int:
    return -(-n // BLOCK) * BLOCK


def write_shards(task: Any, spec: str | None, out: Path, splits: list[str], shard_size: int,
                 options: dict[str, Any] | None = None, log: Any = None) -> dict[str, Any]:
    """Write ``splits`` of the dataset ``spec`` (for ``task``) as shards under ``out`` (absent or empty).

    Returns the manifest. ``options`` go to the task's loader (``skip_bad``, ``images``, ``videos``); with
    ``skip_bad`` an unreadable image file is left out and counted instead of stopping."""
    from cvkit.data import load_split, normalize_split, read_card, resolve

    out = Path(out).absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out {out}: exists and is not an empty folder")
    options = dict(options or {})
    _, source_path = resolve(task, spec)
    card = read_card(source_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        manifest: dict[str, Any] = {"format": FORMAT, "version": VERSION, "task": task.name, "source": None,
                                    "shard_size": shard_size, "splits": {}}
        for split in dict.fromkeys(normalize_split(s) for s in splits):
            raw = load_split(task, spec, split, options)
            manifest["source"] = raw.info.spec
            manifest["splits"][split] = _write_split(tmp, out, raw, split, shard_size, bool(options.get("skip_bad")))
            if log:
                e = manifest["splits"][split]
                log(f"{split}: {e['count']:,} samples in {len(e['shards'])} shard(s), {e['bytes'] / 1e6:,.1f} MB")
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        if card:
            kept = {k: card[k] for k in ("name", "seed", "size", "defaults", "models") if k in card}
            doc = {**kept, "task": task.name, "format": "shards", "path": ".", "source": manifest["source"]}
            (tmp / "cvkit-dataset.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        if out.is_dir():
            out.rmdir()
        os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def _write_split(tmp: Path, out: Path, raw: Any, split: str, shard_size: int, skip_bad: bool) -> dict[str, Any]:
    writer = SplitWriter(tmp, split, shard_size)
    targets: list[Any] = []
    skipped = 0
    # text annotation files are parsed into the targets already; a target may name them (for messages)
    annotation_files = {str(f) for f in raw.files if Path(f).suffix.lower() in TEXT_ANNOTATIONS}
    try:
        for source, target in zip(raw.sources, raw.targets, strict=True):
            if not str(source).lower().endswith(IMAGE_EXTENSIONS):
                raise CvkitError(f"{source}: shards hold image samples; this is not an image file "
                                 f"({', '.join(IMAGE_EXTENSIONS)})")
            try:
                image = _read(source)
                encoded = encode(target, {str(source), *annotation_files})
            except BadInput:
                if not skip_bad:
                    raise
                skipped += 1
                continue
            except NotStorable as exc:
                raise CvkitError(f"{source}: its annotation {exc}") from None
            note = json.dumps({"source": str(source), "target": encoded}).encode()
            writer.add(len(targets), image, Path(source).name, note)
            targets.append(encoded)
    finally:
        writer.close()
    (tmp / f"{split}.index.json").write_text(json.dumps(writer.index(), separators=(",", ":")), encoding="utf-8")
    (tmp / f"{split}.targets.json").write_text(json.dumps(targets, separators=(",", ":")), encoding="utf-8")
    info = raw.info.to_dict()
    info["spec"] = f"shards:{out}"
    return {"info": info, "count": len(targets), "skipped": raw.skipped + skipped, "shards": writer.shards,
            "index": f"{split}.index.json", "targets": f"{split}.targets.json", "bytes": writer.bytes}


def _read(source: str) -> bytes:
    try:
        data = Path(source).read_bytes()
    except FileNotFoundError:
        raise BadInput(source, "no such file") from None
    except OSError as exc:
        raise BadInput(source, f"cannot read: {exc.strerror or exc}") from None
    if not data:
        raise BadInput(source, "empty file (0 bytes)")
    return data
