"""The embedded shapes scenes of the shared vision layer: read back by the core readers, and (until the plugins are
ported onto it) byte-identical to what the detect, instance and segment plugins write today."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cvkit.errors import CvkitError
from cvkit.vision.coco import load_coco
from cvkit.vision.masks import mask_polygons, object_mask, read_index_png
from cvkit.vision.shapes import CLASSES, generate, write_shapes


def tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_coco_polygons_read_back(tmp_path):
    out = write_shapes(tmp_path / "s", 5, seed=3)
    s = load_coco(out, "train", masks=True)
    assert s.classes == list(CLASSES) and s.category_ids == [1, 2, 3] and len(s) == 5
    assert len(load_coco(out, "val")) == 1
    for i, im in enumerate(s.images):
        img, objects = generate(3, "train", i)
        assert (im.width, im.height) == (128, 128) and len(im.objects) == len(objects) >= 1
        for obj, o in zip(im.objects, objects, strict=True):
            assert obj.box == tuple(o["box"]) and obj.label == o["label"] and obj.area == o["area"]
            assert obj.segmentation == mask_polygons(o["mask"])  # outlines along the visible pixels' edges
            assert np.array_equal(object_mask(obj, 128, 128), o["mask"])  # read back exactly


def test_coco_rle_is_exact_and_sizes_and_prefix_stable(tmp_path):
    out = write_shapes(tmp_path / "s", 4, seed=1, image_size=64, masks="rle", val_size=2)
    s = load_coco(out, "train", masks=True)
    assert len(load_coco(out, "val")) == 2
    for i, im in enumerate(s.images):
        _, objects = generate(1, "train", i, 64)
        assert all(np.array_equal(object_mask(a, 64, 64), o["mask"]) for a, o in zip(im.objects, objects, strict=True))
    more = json.loads((write_shapes(tmp_path / "t", 6, seed=1, image_size=64, masks="rle")
                       / "annotations" / "instances_train2017.json").read_text())
    fewer = json.loads((out / "annotations" / "instances_train2017.json").read_text())
    assert more["annotations"][: len(fewer["annotations"])] == fewer["annotations"]


def test_voc_seg_maps_match_the_scene(tmp_path):
    out = write_shapes(tmp_path / "s", 2, seed=0, fmt="voc-seg", image_size=64)
    _, objects = generate(0, "val", 0, 64)
    labels = read_index_png(out / "SegmentationClass" / "val_000000.png")
    inst = read_index_png(out / "SegmentationObject" / "val_000000.png")
    for k, o in enumerate(objects):
        assert (labels[o["mask"]] == o["label"] + 1).all() and (inst[o["mask"]] == k + 1).all()
    assert (labels == 0).sum() == 64 * 64 - sum(o["area"] for o in objects)
    assert (out / "ImageSets" / "Segmentation" / "trainval.txt").read_text().split() == \
        ["train_000000", "train_000001", "val_000000"]


def test_refuses_a_non_empty_folder_and_unknown_format(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("")
    with pytest.raises(CvkitError, match="not empty"):
        write_shapes(tmp_path / "x", 2, seed=0)
    with pytest.raises(CvkitError, match="coco, voc, voc-seg"):
        write_shapes(tmp_path / "y", 2, seed=0, fmt="yolo")


def test_voc_layouts_read_back(tmp_path):
    from cvkit.vision.voc import load_voc

    out = write_shapes(tmp_path / "v", 3, seed=2, fmt="voc")
    s = load_voc(out, "train")
    assert s.classes == list(CLASSES) and len(s) == 3
    for i, im in enumerate(s.images):
        _, objects = generate(2, "train", i)
        assert [(o.box, o.label) for o in im.objects] == [(tuple(map(float, o["box"])), o["label"]) for o in objects]
    seg = write_shapes(tmp_path / "g", 2, seed=2, fmt="voc-seg", image_size=64)
    s = load_voc(seg, "val", sets="Segmentation", classes=list(CLASSES))
    inst = read_index_png(seg / "SegmentationObject" / f"{s.images[0].id}.png")
    _, objects = generate(2, "val", 0, 64)
    assert [(inst == o.id).sum() for o in s.images[0].objects] == [o["area"] for o in objects]
