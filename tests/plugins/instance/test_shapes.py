"""builtin:shapes for instance segmentation: written as COCO with RLE masks and read back by the loader."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cvkit.errors import CvkitError
from cvkit.vision.shapes import CLASSES, generate
from cvkit_instance.datasets.shapes import ShapesInstanceDataset
from cvkit_instance.datasets.target import object_masks


def test_write_and_load_round_trip(task, tmp_path):
    out = tmp_path / "shapes"
    assert ShapesInstanceDataset().write(out, "coco", 8, seed=2) == f"coco:{out}"
    doc = json.loads((out / "annotations" / "instances_train2017.json").read_text())
    assert doc["info"] and all(isinstance(a["segmentation"]["counts"], str) for a in doc["annotations"])
    fmt = task.formats()["coco"]
    train, val = fmt.load(out, "train", {}), fmt.load(out, "val", {})
    assert len(train.sources) == 8 and len(val.sources) == 1 and train.info.classes == list(CLASSES)
    for i, t in enumerate(train.targets):
        img, objects = generate(2, "train", i, 64)
        masks = object_masks(t)
        assert t["labels"].tolist() == [o["label"] for o in objects] and t["size"] == (64, 64)
        for m, o in zip(masks, objects, strict=True):
            np.testing.assert_array_equal(m.astype(bool), o["mask"])
        np.testing.assert_array_equal(t["boxes"], [o["box"] for o in objects])
        assert t["area"].tolist() == [o["area"] for o in objects]


def test_write_refuses_non_empty_and_unknown_format(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("")
    with pytest.raises(CvkitError, match="not empty"):
        ShapesInstanceDataset().write(tmp_path / "x", "coco", 2, 0)
    with pytest.raises(CvkitError, match="coco"):
        ShapesInstanceDataset().write(tmp_path / "y", "voc", 2, 0)
