"""Builders of small video datasets in their real on-disk layouts (Sports-1M release, mmaction2 lists), for tests.

Videos are real mp4v files written by OpenCV: a white square moving right by ``speed`` pixels a frame on a grey
background, so frame content says which frame it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

LABELS = ["boomerang", "cricket", "slacklining", "model aircraft"]


def write_video(path: Path, frames: int = 12, size: int = 32, speed: int = 2, fps: float = 8.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (size, size))
    assert writer.isOpened(), path
    for t in range(frames):
        img = np.full((size, size, 3), 90, np.uint8)
        x = 2 + (t * speed) % (size - 10)
        img[size // 2 - 4: size // 2 + 4, x: x + 8] = 255
        writer.write(img)
    writer.release()
    return path


def partition_line(vid: str, labels: Sequence[int]) -> str:
    return f"https://www.youtube.com/watch?v={vid} {','.join(str(x) for x in labels)}\n"


def make_sports1m(root: Path, train: dict[str, list[int]], test: dict[str, list[int]],
                  missing: Sequence[str] = (), under_original: bool = True, labels: Sequence[str] = LABELS,
                  frames: int = 12) -> Path:
    """labels.txt, [original/]{train,test}_partition.txt and videos/<id>.mp4 for every id not in ``missing``."""
    (root / "videos").mkdir(parents=True, exist_ok=True)
    (root / "labels.txt").write_text("".join(f"{c}\n" for c in labels), encoding="utf-8")
    part = root / "original" if under_original else root
    part.mkdir(parents=True, exist_ok=True)
    for split, entries in (("train", train), ("test", test)):
        (part / f"{split}_partition.txt").write_text("".join(partition_line(v, lab) for v, lab in entries.items()))
        for vid in entries:
            if vid not in missing:
                write_video(root / "videos" / f"{vid}.mp4", frames=frames)
    return root


def make_sports1m_json(root: Path, train: dict[str, list[int]], test: dict[str, list[int]],
                       missing: Sequence[str] = ()) -> Path:
    """The JSON release: sports1m_{train,test}.json lists of {id, duration, label487, stitle, ...}."""
    (root / "videos").mkdir(parents=True, exist_ok=True)
    (root / "labels.txt").write_text("".join(f"{c}\n" for c in LABELS), encoding="utf-8")
    for split, entries in (("train", train), ("test", test)):
        doc = [{"source": "youtube", "id": vid, "duration": 61, "label487": lab, "stitle": f"clip {vid}"}
               for vid, lab in entries.items()]
        (root / f"sports1m_{split}.json").write_text(json.dumps(doc))
        for vid in entries:
            if vid not in missing:
                write_video(root / "videos" / f"{vid}.mp4")
    return root
