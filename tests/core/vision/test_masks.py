"""Masks of the shared vision layer against pycocotools' own conversions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from cvkit.errors import BadInput
from cvkit.vision.masks import (
    decode_rle,
    encode_label_png,
    encode_rle,
    mask_polygons,
    object_mask,
    read_index_png,
    voc_colormap,
)
from cvkit.vision.schema import ObjectAnnotation


def random_mask(seed=0, h=23, w=31):
    return np.random.default_rng(seed).random((h, w)) > 0.6


def test_rle_round_trip_is_json_safe_and_matches_pycocotools():
    m = random_mask()
    rle = encode_rle(m)
    ref = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    assert rle == {"size": [23, 31], "counts": ref["counts"].decode("ascii")}
    assert json.loads(json.dumps(rle)) == rle
    assert np.array_equal(decode_rle(rle), m) and decode_rle(rle).dtype == bool
    with pytest.raises(ValueError):
        encode_rle(np.zeros((2, 2, 2)))


def test_uncompressed_rle_as_crowd_ground_truth_writes_it():
    m = random_mask(1, 5, 4)
    flat = m.T.reshape(-1).astype(int)  # column-major runs, starting with zeros
    counts, cur, n = [], 0, 0
    for v in flat:
        if v != cur:
            counts.append(n)
            cur, n = v, 0
        n += 1
    counts.append(n)
    assert np.array_equal(decode_rle({"size": [5, 4], "counts": counts}), m)


def test_object_mask_from_polygons_rle_and_box():
    poly = [[2.0, 2.0, 12.0, 2.0, 12.0, 9.0, 2.0, 9.0]]
    ref = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(poly, 16, 20))).astype(bool)
    got = object_mask(ObjectAnnotation(box=(2, 2, 12, 9), label=0, segmentation=poly), 16, 20)
    assert np.array_equal(got, ref) and got.sum() == ref.sum() > 0
    m = random_mask(2, 16, 20)
    assert np.array_equal(object_mask(ObjectAnnotation((0, 0, 1, 1), 0, segmentation=encode_rle(m)), 16, 20), m)
    box = object_mask(ObjectAnnotation((1.5, 2, 4, 5), 0), 8, 8)
    assert box.sum() == 3 * 3 and box[2:5, 1:4].all()
    with pytest.raises(ValueError, match="differs from the image size"):
        object_mask(ObjectAnnotation((0, 0, 1, 1), 0, segmentation=encode_rle(m)), 8, 8)


def test_polygons_of_a_mask_rasterise_back_to_it():
    m = np.zeros((20, 20), bool)
    m[3:9, 4:15] = True
    polys = mask_polygons(m)
    back = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polys, 20, 20))).astype(bool)
    assert len(polys) == 1 and np.array_equal(back[3:8, 4:14], m[3:8, 4:14])


def test_label_png_keeps_indices_and_voc_palette(tmp_path):
    from PIL import Image

    assert voc_colormap(3).tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0]]
    assert voc_colormap()[255].tolist() == [224, 224, 192]
    labels = np.array([[0, 1, 2], [255, 3, 0]], np.uint8)
    f = tmp_path / "x.png"
    f.write_bytes(encode_label_png(labels))
    assert Image.open(f).mode == "P" and np.array_equal(read_index_png(f), labels)
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(BadInput, match="mode 'RGB'"):
        read_index_png(tmp_path / "rgb.png")
    with pytest.raises(BadInput, match="object label image not found"):
        read_index_png(tmp_path / "none.png", what="object label image")
    with pytest.raises(ValueError):
        encode_label_png(np.array([[256]]))


def test_label_map_paints_classes_and_voids_overlaps_and_crowds():
    from cvkit.errors import BadInput
    from cvkit.vision.masks import label_map

    a = np.zeros((10, 12), bool)
    a[1:5, 1:6] = True
    b = np.zeros((10, 12), bool)
    b[3:8, 4:10] = True
    c = np.zeros((10, 12), bool)
    c[8:10, 0:3] = True
    objs = [ObjectAnnotation((1, 1, 6, 5), 2, segmentation=encode_rle(a), id=7),
            ObjectAnnotation((4, 3, 10, 8), 5, segmentation=encode_rle(b)),
            ObjectAnnotation((0, 8, 3, 10), 1, segmentation=encode_rle(c), iscrowd=True)]
    got = label_map(objs, 10, 12)
    want = np.zeros((10, 12), np.uint8)
    want[a], want[b] = 2, 5
    want[(a & b) | c] = 255
    assert np.array_equal(got, want)
    assert np.array_equal(label_map(objs, 10, 12, labels=[3, 4, 0])[a & ~b], np.full((a & ~b).sum(), 3))
    with pytest.raises(BadInput, match=r"x\.json \(annotation id 7\): bad segmentation"):
        label_map([ObjectAnnotation((0, 0, 1, 1), 1, segmentation=encode_rle(a), id=7)], 5, 5, file="x.json")
    with pytest.raises(BadInput, match="without height/width"):
        label_map(objs, 0, 12)
