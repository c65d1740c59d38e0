"""COCO (polygons and RLE) and VOC SegmentationObject fixtures in their real layouts, read into promptseg targets."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from cvkit.data import load_split
from cvkit.errors import BadInput
from cvkit.vision.masks import encode_label_png, encode_rle
from cvkit_promptseg.datasets.target import object_masks

XML = """<annotation><folder>VOC2012</folder><filename>{id}.jpg</filename>
<size><width>40</width><height>30</height><depth>3</depth></size><segmented>1</segmented>
<object><name>cat</name><difficult>0</difficult><bndbox><xmin>3</xmin><ymin>3</ymin><xmax>12</xmax><ymax>12</ymax></bndbox></object>
<object><name>dog</name><difficult>1</difficult><bndbox><xmin>20</xmin><ymin>5</ymin><xmax>30</xmax><ymax>20</ymax></bndbox></object>
<object><name>cat</name><difficult>0</difficult><bndbox><xmin>20</xmin><ymin>21</ymin><xmax>35</xmax><ymax>28</ymax></bndbox></object>
</annotation>"""


@pytest.fixture
def voc(tmp_path):
    root = tmp_path / "VOCdevkit" / "VOC2012"
    for d in ("Annotations", "JPEGImages", "ImageSets/Segmentation", "ImageSets/Main", "SegmentationObject"):
        (root / d).mkdir(parents=True)
    (root / "ImageSets" / "Segmentation" / "val.txt").write_text("2007_000001\n")
    (root / "Annotations" / "2007_000001.xml").write_text(XML.format(id="2007_000001"))
    cv2.imwrite(str(root / "JPEGImages" / "2007_000001.jpg"), np.zeros((30, 40, 3), np.uint8))
    ids = np.zeros((30, 40), np.uint8)
    ids[2:12, 2:12] = 1
    ids[4:20, 19:30] = 2
    ids[20:28, 19:35] = 3
    ids[12, 2:12] = 255  # void border under object 1
    (root / "SegmentationObject" / "2007_000001.png").write_bytes(encode_label_png(ids))
    return root, ids


def test_voc_object_masks(task, voc):
    root, ids = voc
    raw = load_split(task, f"voc:{root}", "val")
    assert raw.info.classes == ["object"] and len(raw.info.extra["object_classes"]) == 20  # the VOC classes
    (target,) = raw.targets
    assert [o["instance"] for o in target["objects"]] == [1, 3] and target["ignored"] == 1  # difficult dog out
    masks, ignore = object_masks(target)
    assert (masks[0] == (ids == 1)).all() and (masks[1] == (ids == 3)).all()
    assert (ignore == (ids == 255)).all()


def test_voc_missing_png_is_named(task, voc):
    root, _ = voc
    (root / "SegmentationObject" / "2007_000001.png").unlink()
    with pytest.raises(BadInput, match="2007_000001.png: object label image of '2007_000001' not found"):
        load_split(task, f"voc:{root}", "val")
    assert load_split(task, f"voc:{root}", "val", {"skip_bad": True}).skipped == 1


def test_coco_polygons_rle_and_crowd(task, tmp_path):
    m = np.zeros((20, 30), bool)
    m[5:15, 10:25] = True
    doc = {"info": {}, "images": [{"id": 7, "file_name": "a.jpg", "width": 30, "height": 20}],
           "categories": [{"id": 3, "name": "thing"}],
           "annotations": [
               {"id": 1, "image_id": 7, "category_id": 3, "bbox": [10, 5, 15, 10], "area": 150, "iscrowd": 0,
                "segmentation": [[10, 5, 24, 5, 24, 14, 10, 14]]},
               {"id": 2, "image_id": 7, "category_id": 3, "bbox": [10, 5, 15, 10], "area": 150, "iscrowd": 0,
                "segmentation": encode_rle(m)},
               {"id": 3, "image_id": 7, "category_id": 3, "bbox": [0, 0, 5, 5], "area": 25, "iscrowd": 1,
                "segmentation": {"size": [20, 30], "counts": [0, 25, 575]}}]}
    (tmp_path / "ann.json").write_text(json.dumps(doc))
    cv2.imwrite(str(tmp_path / "a.jpg"), np.zeros((20, 30, 3), np.uint8))
    raw = load_split(task, f"coco:{tmp_path / 'ann.json'}", "val")
    (target,) = raw.targets
    assert len(target["objects"]) == 2 and target["ignored"] == 1  # the crowd region is left out
    masks, ignore = object_masks(target)
    from pycocotools import mask as mask_utils

    poly = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(doc["annotations"][0]["segmentation"], 20, 30)))
    assert ignore is None and (masks[1] == m).all() and (masks[0] == poly.astype(bool)).all()
