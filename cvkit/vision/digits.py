"""The embedded ``digits``: scikit-learn's 1,797 real 8x8 handwritten digits, written as an ImageFolder tree.

The images ship with scikit-learn (no download). They are split into train and val (20 %), stratified by digit and
deterministic for a seed, and written as 8-bit grayscale PNGs ``out/{train,val}/<digit>/<index:04d>.png`` where
``index`` is the sample's position in ``sklearn.datasets.load_digits()`` (so a file name identifies the sample
whatever the seed) and pixel values 0..16 become round(v * 255 / 16).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cvkit.errors import CvkitError, UsageError

VAL_FRACTION = 0.2
CLASSES = tuple(str(d) for d in range(10))


def split_indices(labels: np.ndarray, size: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices of the train and val samples: an optional stratified subset of ``size``, then a stratified
    80/20 split. Stratification needs one sample of each class on each side; below that (tiny ``size``) the split
    is a plain seeded shuffle."""
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


def write_digits(out: str | Path, size: int | None, seed: int, img_size: int | None = None) -> Path:
    """Write the digits as ImageFolder ``out/train`` and ``out/val`` (``out`` absent or empty) and return ``out``.

    ``size``: how many of the 1,797 samples (None: all). ``img_size``: None keeps the native 8x8 pixels; a size
    resamples each digit to ``img_size x img_size`` (bilinear) before writing. The caller publishes the folder."""
    import cv2
    from sklearn.datasets import load_digits

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise CvkitError(f"{out} exists and is not empty")
    if img_size is not None and not 1 <= img_size <= 4096:
        raise UsageError(f"img_size {img_size}: expected 1..4096 pixels")
    digits = load_digits()
    images, labels = digits.images, digits.target
    train, val = split_indices(labels, size, seed)
    out.mkdir(parents=True, exist_ok=True)
    for split, indices in (("train", train), ("val", val)):
        for digit in CLASSES:
            (out / split / digit).mkdir(parents=True)
        for i in indices:
            path = out / split / str(int(labels[i])) / f"{int(i):04d}.png"
            pixels = to_uint8(images[i])
            if img_size is not None and img_size != pixels.shape[0]:
                pixels = cv2.resize(pixels, (img_size, img_size), interpolation=cv2.INTER_LINEAR)
            if not cv2.imwrite(str(path), pixels):
                raise CvkitError(f"{path}: could not write the PNG")
    return out
