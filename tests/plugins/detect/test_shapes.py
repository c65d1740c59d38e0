"""builtin:shapes written in both real formats and read back by the real loaders."""

from __future__ import annotations

import numpy as np
import pytest

from cvkit.errors import CvkitError
from cvkit_detect.datasets.shapes import CLASSES, ShapesDataset, generate


def test_generate_is_deterministic():
    a, oa = generate(3, "train", 5)
    b, ob = generate(3, "train", 5)
    assert np.array_equal(a, b) and [o["box"] for o in oa] == [o["box"] for o in ob]
    c, _ = generate(4, "train", 5)
    assert not np.array_equal(a, c)
    assert a.shape == (128, 128, 3) and a.dtype == np.uint8 and 1 <= len(oa) <= 4


@pytest.mark.parametrize("fmt", ["voc", "coco"])
def test_write_and_load_round_trip(task, tmp_path, fmt):
    out = tmp_path / fmt
    spec = ShapesDataset().write(out, fmt, 12, seed=7)
    assert spec == f"{fmt}:{out}"
    loader = task.formats()[fmt]
    assert loader.detect(out)
    train, val = loader.load(out, "train", {}), loader.load(out, "val", {})
    assert len(train.sources) == 12 and len(val.sources) == 1
    assert train.info.classes == list(CLASSES) == val.info.classes
    for i, (src, t) in enumerate(zip(train.sources, train.targets, strict=True)):
        _, objects = generate(7, "train", i)
        np.testing.assert_array_equal(t["boxes"], [o["box"] for o in objects])
        assert t["labels"].tolist() == [o["label"] for o in objects]
        assert t["size"] == (128, 128) and not t["difficult"].any() and not t["iscrowd"].any()
        if fmt == "coco":
            assert t["area"].tolist() == [o["area"] for o in objects]
        assert (out / src).exists()
    if fmt == "coco":
        assert train.info.extra["category_ids"] == [1, 2, 3]
    else:
        assert (out / "ImageSets" / "Main" / "circle_trainval.txt").exists()


def test_write_refuses_non_empty(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("")
    with pytest.raises(CvkitError, match="not empty"):
        ShapesDataset().write(tmp_path / "x", "coco", 2, 0)
    with pytest.raises(CvkitError, match="voc"):
        ShapesDataset().write(tmp_path / "y", "yolo", 2, 0)
