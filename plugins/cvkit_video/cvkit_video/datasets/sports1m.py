"""Sports-1M (Karpathy et al., CVPR 2014): the released partition files or JSON release, plus local videos.

Layout (``PATH`` of ``--data sports1m:PATH``)::

    PATH/labels.txt                                  487 class names, index = line number (0-based)
    PATH/[original/]train_partition.txt              https://www.youtube.com/watch?v=<id> <l1>,<l2>,...
    PATH/[original/]test_partition.txt
    PATH/sports1m_{train,test}.json                  or the JSON release: [{"id", "duration", "label487", ...}]
    PATH/videos/<id>.mp4|webm|mkv|avi|mov            the videos you downloaded (or --videos DIR)

Sports-1M has train and test partitions only: ``val`` reads ``val_partition.txt`` / ``sports1m_val.json`` when
present and the test partition otherwise. The text partition is preferred to the JSON release when both exist.
Videos are found by YouTube id; listed videos that are not on disk (deleted uploads) are counted, skipped and
reported in one warning line, never an error. Targets are sorted lists of label indices (multi-label).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.errors import BadInput, CvkitError
from cvkit_video.datasets.common import parse_split, read_symmetries, report_missing, video_files

LABELS = "labels.txt"


def youtube_id(token: str) -> str:
    """``https://www.youtube.com/watch?v=ID`` (or ``youtu.be/ID``, or a bare ``ID``) -> ``ID``."""
    if "://" not in token and "/" not in token:
        return token
    url = urlparse(token)
    v = parse_qs(url.query).get("v")
    if v:
        return v[0]
    return url.path.rstrip("/").rsplit("/", 1)[-1]


def read_labels(path: Path) -> list[str]:
    try:
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except UnicodeDecodeError:
        raise BadInput(path, "not UTF-8 text") from None
    while names and not names[-1]:
        names.pop()
    if not names:
        raise BadInput(path, "no class names")
    for n, name in enumerate(names, 1):
        if not name:
            raise BadInput(path, "empty class name", where=f"line {n}")
    return names


def parse_labels(text: str, num_classes: int) -> list[int]:
    labels = sorted({int(t) for t in text.replace(",", " ").split()})
    if not labels:
        raise ValueError("no label")
    bad = [lab for lab in labels if not 0 <= lab < num_classes]
    if bad:
        raise ValueError(f"label {bad[0]} outside 0..{num_classes - 1}")
    return labels


class Sports1MFormat(DatasetFormat):
    name = "sports1m"
    description = "labels.txt + [original/]{train,test}_partition.txt or sports1m_*.json, videos/<youtube id>.mp4"

    def _labels_file(self, root: Path) -> Path | None:
        for p in (root / LABELS, root / "original" / LABELS):
            if p.is_file():
                return p
        return None

    def _annotation_file(self, root: Path, split: str) -> Path | None:
        names = [split] + (["test"] if split == "val" else [])
        for name in names:
            for p in (root / f"{name}_partition.txt", root / "original" / f"{name}_partition.txt",
                      root / f"sports1m_{name}.json"):
                if p.is_file():
                    return p
        return None

    def detect(self, path: Path) -> bool:
        return path.is_dir() and self._labels_file(path) is not None and any(
            self._annotation_file(path, s) is not None for s in ("train", "test"))

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        name, order = parse_split(split)
        root = Path(path)
        if not root.is_dir():
            raise BadInput(root, "not a folder: a Sports-1M dataset is a folder with labels.txt and partitions")
        labels_file = self._labels_file(root)
        if labels_file is None:
            raise BadInput(root, f"no {LABELS} (the 487 class names, one a line)")
        classes = read_labels(labels_file)
        ann = self._annotation_file(root, name)
        if ann is None:
            raise BadInput(root, f"no {name}_partition.txt (in PATH or PATH/original/) nor sports1m_{name}.json")
        entries, bad = (self._json if ann.suffix == ".json" else self._partition)(ann, len(classes),
                                                                                  bool(options.get("skip_bad")))
        folder = Path(options["videos"]) if options.get("videos") else root / "videos"
        if not folder.is_dir():
            raise CvkitError(f"{folder}: no such video folder (videos are looked up in PATH/videos/ or --videos DIR)")
        files = video_files(folder)
        sources, targets, missing = [], [], 0
        for vid, labels in entries:
            video = files.get(vid)
            if video is None:
                missing += 1
                continue
            sources.append(str(video))
            targets.append(labels)
        report_missing(missing, len(entries), ann)
        info = DatasetInfo(
            name="sports1m" if root.name.lower().startswith("sports") else root.name or "sports1m",
            format=self.name, spec=f"{self.name}:{root}", split=split, classes=classes,
            extra={"frame_order": order, "videos": str(folder), "missing_videos": missing,
                   **read_symmetries(root, classes)},
        )
        return RawSplit(info, sources, targets, files=[labels_file, ann], skipped=missing + bad)

    def _partition(self, path: Path, num_classes: int, skip_bad: bool) -> tuple[list[tuple[str, list[int]]], int]:
        entries, bad = [], 0
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                url, *rest = line.split(None, 1)
                try:
                    entries.append((youtube_id(url), parse_labels(rest[0] if rest else "", num_classes)))
                except ValueError as exc:
                    if not skip_bad:
                        raise BadInput(path, f"expected '<url> <l1>,<l2>,...' ({exc})", where=f"line {n}") from None
                    bad += 1
        return entries, bad

    def _json(self, path: Path, num_classes: int, skip_bad: bool) -> tuple[list[tuple[str, list[int]]], int]:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadInput(path, f"not valid JSON ({exc})") from None
        if isinstance(doc, dict):  # tolerate {id: entry}
            doc = [{"id": k, **v} if isinstance(v, dict) else v for k, v in doc.items()]
        if not isinstance(doc, list):
            raise BadInput(path, "expected a list of {id, label487, ...} entries")
        entries, bad = [], 0
        for n, entry in enumerate(doc):
            try:
                labels = entry["label487"]
                if isinstance(labels, int):
                    labels = [labels]
                entries.append((youtube_id(str(entry["id"])),
                                parse_labels(" ".join(str(int(x)) for x in labels), num_classes)))
            except (KeyError, TypeError, ValueError) as exc:
                if not skip_bad:
                    raise BadInput(path, f"expected an object with 'id' and 'label487' ({type(exc).__name__}: "
                                   f"{exc})", where=f"entry {n}") from None
                bad += 1
        return entries, bad
