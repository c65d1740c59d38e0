"""builtin:shapes for segmentation: written as a real VOC segmentation dataset and read back by the loader."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cvkit.errors import CvkitError
from cvkit.vision.shapes import generate
from cvkit_segment.datasets.shapes import CLASSES, ShapesSegDataset, scene
from cvkit_segment.datasets.target import load_label


def test_scene_is_the_detection_generator_with_masks():
    img, labels, instances, objects = scene(5, "train", 3)
    ref_img, ref_objects = generate(5, "train", 3, 64)
    assert np.array_equal(img, ref_img) and img.shape == (64, 64, 3)
    for k, o in enumerate(ref_objects):
        assert (labels[o["mask"]] == o["label"] + 1).all() and (instances[o["mask"]] == k + 1).all()
    assert (labels > 0).sum() == sum(int(o["mask"].sum()) for o in ref_objects)


def test_write_and_load_round_trip(task, tmp_path):
    out = tmp_path / "shapes"
    assert ShapesSegDataset().write(out, "voc-seg", 10, seed=3) == f"voc:{out}"
    fmt = task.formats()["voc"]
    assert fmt.detect(out)
    train, val = fmt.load(out, "train", {}), fmt.load(out, "val", {})
    assert len(train.sources) == 10 and len(val.sources) == 1 and train.info.classes == list(CLASSES)
    for i, t in enumerate(train.targets):
        _, labels, instances, _ = scene(3, "train", i)
        np.testing.assert_array_equal(load_label(t, 4), labels)
        with Image.open(t["file"]) as im:
            assert im.mode == "P"
        obj = out / "SegmentationObject" / f"train_{i:06d}.png"
        np.testing.assert_array_equal(np.array(Image.open(obj)), instances)
    assert (out / "Annotations" / "train_000000.xml").is_file()
    assert len(fmt.load(out, "trainval", {}).sources) == 11


def test_write_refuses_non_empty_and_unknown_format(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("")
    with pytest.raises(CvkitError, match="not empty"):
        ShapesSegDataset().write(tmp_path / "x", "voc-seg", 2, 0)
    with pytest.raises(CvkitError, match="voc-seg"):
        ShapesSegDataset().write(tmp_path / "y", "coco", 2, 0)
