"""Loaders on real-format fixtures: COCO polygons, RLE and crowd regions; VOC SegmentationObject with 255 borders."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cvkit.errors import BadInput
from cvkit.task import ModelConfig
from cvkit_instance.datasets.target import gt_segmentations, object_masks
from tests.plugins.instance.fixtures import make_coco, make_voc


def test_coco_masks(task, tmp_path):
    root, expected = make_coco(tmp_path / "coco")
    fmt = task.formats()["coco"]
    assert fmt.detect(root)
    raw = fmt.load(root, "val", {})
    assert raw.info.classes == ["cat", "dog"] and raw.info.extra["category_ids"] == [17, 18]
    t = raw.targets[0]
    assert t["labels"].tolist() == [0, 1, 0] and t["iscrowd"].tolist() == [False, False, True]
    masks = object_masks(t)
    for j, ann_id in enumerate((1, 2, 3)):
        np.testing.assert_array_equal(masks[j], expected[ann_id])
    assert gt_segmentations(t) == t["segmentation"]  # COCO's own segmentations go to pycocotools as they are
    assert object_masks(raw.targets[1]).shape == (0, 24, 32)


def test_training_sample_drops_crowd_and_boxes_follow_masks(task, tmp_path):
    root, expected = make_coco(tmp_path / "coco")
    raw = task.formats()["coco"].load(root, "val", {})
    s = task.dataset(raw, ModelConfig("maskrcnn-small", 32), train=True)[0]
    t = s["target"]
    assert s["image"].shape == (3, 32, 32) and t["masks"].shape[1:] == (32, 32) and t["masks"].dtype.is_floating_point \
        is False
    assert sorted(t["labels"].tolist()) == [0, 1]  # the crowd region is left out
    for box, m in zip(t["boxes"], t["masks"], strict=True):
        ys, xs = np.nonzero(m.numpy())
        assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    empty = task.dataset(raw, ModelConfig("maskrcnn-small", 32), train=True)[1]["target"]
    assert empty["boxes"].shape == (0, 4) and empty["masks"].shape == (0, 32, 32)


def test_coco_bad_segmentation(task, tmp_path):
    root, _ = make_coco(tmp_path / "coco")
    f = root / "annotations" / "instances_val2017.json"
    doc = json.loads(f.read_text())
    doc["annotations"][1]["segmentation"] = "oops"
    f.write_text(json.dumps(doc))
    with pytest.raises(BadInput, match=r"instances_val2017\.json \(annotation id 2\)"):
        task.formats()["coco"].load(root, "val", {})
    raw = task.formats()["coco"].load(root, "val", {"skip_bad": True})
    assert raw.skipped == 1 and raw.targets[0]["labels"].tolist() == [0, 0]
    doc["annotations"][1]["segmentation"] = {"size": [5, 5], "counts": "0"}
    f.write_text(json.dumps(doc))
    raw = task.formats()["coco"].load(root, "val", {})
    with pytest.raises(BadInput, match=r"instances_val2017\.json \(image 1, object 1\).*differs"):
        object_masks(raw.targets[0])


def test_voc_segmentation_object(task, tmp_path):
    year, inst = make_voc(tmp_path)
    fmt = task.formats()["voc"]
    assert fmt.detect(tmp_path / "VOCdevkit") and fmt.detect(year)
    raw = fmt.load(tmp_path / "VOCdevkit", "val", {})
    assert len(raw.info.classes) == 20 and raw.sources[0].endswith("JPEGImages/2007_000032.jpg")
    t = raw.targets[0]
    assert [raw.info.classes[k] for k in t["labels"]] == ["person", "dog", "cat"]
    assert t["difficult"].tolist() == [False, True, False]
    np.testing.assert_array_equal(t["boxes"][0], [2, 2, 10, 10])  # 1-based inclusive -> pixel edges
    masks = object_masks(t)
    np.testing.assert_array_equal(masks[0], inst == 1)
    np.testing.assert_array_equal(masks[1], inst == 2)
    assert masks[2].sum() == 0 and not (masks.sum(0) > 1).any()  # the 255 border belongs to nobody
    from pycocotools import mask as mask_utils

    rles = gt_segmentations(t)
    assert [int(mask_utils.area(r)) for r in rles] == [64, 78, 0]


def test_voc_bad_files(task, tmp_path):
    year, _ = make_voc(tmp_path)
    fmt = task.formats()["voc"]
    (year / "SegmentationObject" / "2007_000032.png").unlink()
    with pytest.raises(BadInput, match=r"SegmentationObject/2007_000032\.png"):
        fmt.load(year, "val", {})
    assert fmt.load(year, "val", {"skip_bad": True}).skipped == 1
    year2, _ = make_voc(tmp_path / "b")
    (year2 / "Annotations" / "2007_000032.xml").write_text("<annotation><object>")
    with pytest.raises(BadInput, match=r"2007_000032\.xml.*malformed XML"):
        fmt.load(year2, "val", {})
    year3, _ = make_voc(tmp_path / "c")
    raw = fmt.load(year3, "val", {})
    (year3 / "SegmentationObject" / "2007_000032.png").write_bytes(b"junk")
    with pytest.raises(BadInput, match=r"2007_000032\.png.*not a readable"):
        object_masks(raw.targets[0])
