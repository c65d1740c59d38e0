"""The embedded digits of the shared vision layer: scikit-learn's real digits as an ImageFolder tree."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from sklearn.datasets import load_digits

from cvkit.errors import UsageError
from cvkit.vision.digits import to_uint8, write_digits


def files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.png"))}


def test_pixels_labels_and_split(tmp_path):
    out = write_digits(tmp_path / "d", 100, seed=0)
    got = files(out)
    assert len(got) == 100 and sum(k.startswith("val/") for k in got) == 20
    digits = load_digits()
    for name in list(got)[:30]:
        split, label, stem = name.split("/")
        i = int(stem[:4])
        assert int(label) == digits.target[i]
        img = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        assert img.shape == (8, 8) and np.array_equal(img, to_uint8(digits.images[i]))
    assert to_uint8(np.array([0.0, 8.0, 16.0])).tolist() == [0, 128, 255]


def test_resampled_size_and_bad_sizes(tmp_path):
    out = write_digits(tmp_path / "d", 10, seed=1, img_size=16)
    assert {cv2.imread(str(out / k), cv2.IMREAD_UNCHANGED).shape for k in files(out)} == {(16, 16)}
    with pytest.raises(UsageError, match="at least 2"):
        write_digits(tmp_path / "e", 1, seed=0)
