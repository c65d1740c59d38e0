"""``builtin:digits``: scikit-learn's 1,797 real 8x8 handwritten digits, written as an ImageFolder tree.

The images ship with scikit-learn (no download). They are split into train and val (20 %), stratified by digit and
deterministic for a seed, and written as 8-bit grayscale PNGs ``out/{train,val}/<digit>/<index:04d>.png`` where
``index`` is the sample's position in ``sklearn.datasets.load_digits()`` (so a file name identifies the sample
whatever the seed) and pixel values 0..16 become round(v * 255 / 16).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.errors import CvkitError, UsageError
from cvkit.task import BuiltinDataset

VAL_FRACTION = 0.2
WRITTEN = {"train", "val", ".cvkit-format"}  # what a previous write (and the cache marker) left in ``out``


def split_indices(labels: np.ndarray, size: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the train and val samples: an optional stratified subset of ``size``, then a stratified split.

    Stratification needs at least one sample of each class on each side; below that (tiny ``size``) the split is
    a plain seeded shuffle.
    """
    from sklearn.model_selection import train_test_split

    def split(indices: np.ndarray, **sizes: float | int) -> tuple[np.ndarray, np.ndarray]:
        try:
            return train_test_split(indices, stratify=labels[indices], random_state=seed, **sizes)
        except ValueError:  # too few samples per class to stratify
            return train_test_split(indices, stratify=None, random_state=seed, **sizes)

    indices = np.arange(len(labels))
    if size is not None:
        if size < 2:
            raise UsageError(f"--size {size}: the digits dataset needs at least 2 images (1 train, 1 val)")
        if size < len(labels):
            indices, _ = split(indices, train_size=size)
    train, val = split(indices, test_size=VAL_FRACTION)
    return np.sort(train), np.sort(val)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A digit (values 0..16) as an 8-bit grayscale image."""
    return np.clip(np.round(image * (255.0 / 16.0)), 0, 255).astype(np.uint8)


def publish(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` folder to ``out``; a previous ``out`` written here is replaced, nothing else is."""
    for _ in range(3):
        try:
            os.rename(tmp, out)  # atomic; succeeds when ``out`` is absent or an empty folder
            return
        except OSError:
            if not out.exists():
                raise
        if not out.is_dir():
            raise CvkitError(f"{out} exists and is not a folder: remove it or choose another --out")
        if not set(os.listdir(out)) <= WRITTEN:
            raise CvkitError(f"{out} exists and holds other files: remove it or choose another --out")
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        try:
            os.rename(out, old / out.name)
        except FileNotFoundError:  # another writer moved it first: try again
            pass
        shutil.rmtree(old, ignore_errors=True)
    raise CvkitError(f"{out}: could not replace the folder (is another process writing it?)")


class DigitsBuiltin(BuiltinDataset):
    """scikit-learn's real handwritten digits (10 classes, 8x8 grayscale), as ImageFolder train/ and val/."""

    name = "digits"
    formats = ("imagefolder",)
    description = "1,797 real 8x8 handwritten digits from scikit-learn, 10 classes, 80/20 stratified split"

    def card(self) -> dict[str, Any]:
        """8x8 grey images of centred digits: upsampled to 16x16, never flipped."""
        return {"defaults": {"img_size": 16, "model_args": {"augment": "none"}}}

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        import cv2
        from sklearn.datasets import load_digits

        if fmt not in self.formats:
            raise UsageError(f"builtin:{self.name} is written as {', '.join(self.formats)}, not {fmt!r}")
        out = Path(out)
        digits = load_digits()
        images, labels = digits.images, digits.target
        train, val = split_indices(labels, size, seed)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()  # not mkdtemp: the dataset keeps the user's umask, not mode 0700
        try:
            for split, indices in (("train", train), ("val", val)):
                for digit in range(10):
                    (tmp / split / str(digit)).mkdir(parents=True)
                for i in indices:
                    path = tmp / split / str(int(labels[i])) / f"{int(i):04d}.png"
                    if not cv2.imwrite(str(path), to_uint8(images[i])):
                        raise CvkitError(f"{path}: could not write the PNG")
            publish(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return f"imagefolder:{out}"
