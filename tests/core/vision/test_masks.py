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
    """Exactly, pixel for pixel: a rectangle, a disc, a triangle, a component touching another only at a corner,
    one-pixel pieces and the image's edges; holes are filled (outer contours only)."""
    import cv2

    def back(polys: list[list[float]], h: int, w: int) -> np.ndarray:
        return mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polys, h, w))).astype(bool)

    m = np.zeros((20, 20), bool)
    m[3:9, 4:15] = True
    polys = mask_polygons(m)
    assert polys == [[4.0, 3.0, 4.0, 9.0, 15.0, 9.0, 15.0, 3.0]]  # the rectangle's pixel-edge corners
    assert np.array_equal(back(polys, 20, 20), m)
    shapes = np.zeros((40, 50), np.uint8)
    cv2.circle(shapes, (12, 12), 9, 1, -1)
    cv2.fillPoly(shapes, [np.array([[30, 5], [48, 20], [27, 33]], np.int32)], 1)
    shapes[36, 0] = shapes[37, 1] = shapes[39, 49] = shapes[0, 49] = 1  # diagonal neighbours, corners
    assert len(mask_polygons(shapes)) == 5  # disc, triangle, the diagonal pair (one outline), two corners
    assert np.array_equal(back(mask_polygons(shapes), 40, 50), shapes.astype(bool))
    ring = np.zeros((12, 12), bool)
    ring[2:10, 2:10] = True
    ring[5:7, 5:7] = False
    filled = ring.copy()
    filled[5:7, 5:7] = True
    assert np.array_equal(back(mask_polygons(ring), 12, 12), filled)
    rng = np.random.default_rng(0)
    for _ in range(20):
        noise = rng.random((17, 23)) < 0.4  # many pieces, some with holes: compared with their outer contours filled
        cs, _ = cv2.findContours(noise.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        outer = np.zeros((17, 23), np.uint8)
        cv2.drawContours(outer, cs, -1, 1, -1)
        assert np.array_equal(back(mask_polygons(noise), 17, 23), outer.astype(bool))
    assert mask_polygons(np.zeros((5, 5), bool)) == []


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
