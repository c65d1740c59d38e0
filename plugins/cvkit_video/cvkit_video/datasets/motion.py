"""``builtin:motion``: synthetic clips whose class only motion carries, written in the Sports-1M layout.

``cvkit data make motion --out DIR [--size N] [--seed S]`` writes::

    DIR/labels.txt                        the 8 class names
    DIR/original/train_partition.txt      https://www.youtube.com/watch?v=<id> <label>   (80 % of the clips)
    DIR/original/test_partition.txt       (20 %; Sports-1M has no val partition, so `val` reads this one)
    DIR/videos/<id>.mp4                   16 frames of 64x64, MPEG-4 Part 2 (mp4v), 8 fps
    DIR/symmetries.json                   label pairs swapped by time reversal and by mirroring

and prints ``sports1m:DIR``: the clips are read back by the real Sports-1M loader. Ids look like YouTube ids
(11 characters of ``A-Za-z0-9_-``, never starting with ``-`` or ``_`` to stay shell-friendly). Classes are
balanced; every clip is generated from (seed, clip number) alone.
Default size: 1,600 clips (1,280 train / 320 test).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.contract import BuiltinDataset
from cvkit.data import fresh_folder
from cvkit.errors import CvkitError, UsageError
from cvkit_video.datasets.motion_render import CLASSES, FRAMES, MIRROR_PAIRS, REVERSE_PAIRS, SIZE, render

DEFAULT_SIZE = 1600
TEST_FRACTION = 0.2
FPS = 8
ID_ALPHABET = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"))


def youtube_like_ids(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng([seed, 11])
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < n:
        vid = "".join(rng.choice(ID_ALPHABET[:62], 1)) + "".join(rng.choice(ID_ALPHABET, 10))
        if vid not in seen:
            seen.add(vid)
            ids.append(vid)
    return ids


def write_video(path: Path, frames: list[np.ndarray], fps: float = FPS) -> None:
    import cv2

    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise CvkitError(f"{path}: OpenCV cannot write mp4v video here")
    try:
        for f in frames:
            writer.write(f)
    finally:
        writer.release()


class MotionBuiltin(BuiltinDataset):
    name = "motion"
    formats = ("sports1m",)
    description = "8 motion classes in time-reversed pairs, 16-frame 64x64 mp4 clips, Sports-1M layout"

    def card(self) -> dict[str, Any]:
        """The task's defaults suit the clips already; the card records that nothing differs."""
        return {"defaults": {}}

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        if fmt not in self.formats:
            raise UsageError(f"builtin:{self.name} is written as {', '.join(self.formats)}, not {fmt!r}")
        n = DEFAULT_SIZE if size is None else int(size)
        if n < 2:
            raise UsageError(f"--size {n}: the motion dataset needs at least 2 clips (1 train, 1 test)")
        out = fresh_folder(out)
        (out / "videos").mkdir()
        (out / "original").mkdir()
        self._write(out, n, seed)
        return f"sports1m:{out}"

    def _write(self, root: Path, n: int, seed: int) -> None:
        rng = np.random.default_rng([seed, 0])
        labels = np.arange(n) % len(CLASSES)
        rng.shuffle(labels)
        n_test = max(1, round(n * TEST_FRACTION))
        ids = youtube_like_ids(n, seed)
        lines: dict[str, list[str]] = {"train": [], "test": []}
        for i, (vid, label) in enumerate(zip(ids, labels, strict=True)):
            frames = render(np.random.default_rng([seed, 1, i]), int(label), FRAMES, SIZE)
            write_video(root / "videos" / f"{vid}.mp4", frames)
            split = "test" if i < n_test else "train"
            lines[split].append(f"https://www.youtube.com/watch?v={vid} {int(label)}\n")
        (root / "labels.txt").write_text("".join(f"{c}\n" for c in CLASSES), encoding="utf-8")
        for split, rows in lines.items():
            (root / "original" / f"{split}_partition.txt").write_text("".join(rows), encoding="utf-8")
        doc = {"reverse": [list(p) for p in REVERSE_PAIRS], "mirror": [list(p) for p in MIRROR_PAIRS]}
        (root / "symmetries.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
