"""Real-format fixtures for instance segmentation: COCO JSON (polygons, RLE, crowd) and VOC SegmentationObject."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


def uncompressed_rle(mask: np.ndarray) -> list[int]:
    """COCO's crowd RLE: run lengths over the column-major pixels, starting with a run of zeros."""
    flat = mask.ravel(order="F")
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(flat)) + 1, [flat.size]])
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat[0] else runs


def save_jpeg(path: Path, h: int, w: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((h, w, 3), 90, np.uint8))


def save_palette_png(path: Path, values: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.frombytes("P", values.shape[::-1], values.astype(np.uint8).tobytes())
    pal = np.zeros((256, 3), np.uint8)
    pal[1], pal[2], pal[255] = (128, 0, 0), (0, 128, 0), (224, 224, 192)
    img.putpalette(pal.ravel().tolist())
    img.save(path)


def make_coco(root: Path) -> tuple[Path, dict[int, np.ndarray]]:
    """One 24x32 image: a polygon cat, a compressed-RLE dog, a crowd of cats (uncompressed RLE); a second image
    without objects. Returns the root and the expected mask of each annotation id."""
    from pycocotools import mask as mask_utils

    h, w = 24, 32
    dog = np.zeros((h, w), np.uint8)
    dog[10:20, 15:30] = 1
    crowd = np.zeros((h, w), np.uint8)
    crowd[0:4, 0:32] = 1
    rle = mask_utils.encode(np.asfortranarray(dog))
    cat_poly = [2.0, 6.0, 10.0, 6.0, 10.0, 14.0, 2.0, 14.0]
    cat = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([cat_poly], h, w)))
    anns = [
        {"id": 1, "image_id": 1, "category_id": 17, "iscrowd": 0, "bbox": [2, 6, 8, 8], "area": 64,
         "segmentation": [cat_poly]},
        {"id": 2, "image_id": 1, "category_id": 18, "iscrowd": 0, "bbox": [15, 10, 15, 10], "area": 150,
         "segmentation": {"size": [h, w], "counts": rle["counts"].decode("ascii")}},
        {"id": 3, "image_id": 1, "category_id": 17, "iscrowd": 1, "bbox": [0, 0, 32, 4], "area": 128,
         "segmentation": {"size": [h, w], "counts": uncompressed_rle(crowd)}},
    ]
    images = [{"id": 1, "file_name": "a.jpg", "height": h, "width": w},
              {"id": 2, "file_name": "b.jpg", "height": h, "width": w}]
    for im in images:
        save_jpeg(root / "val2017" / im["file_name"], h, w)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    doc = {"info": {}, "licenses": [], "images": images, "annotations": anns,
           "categories": [{"id": 17, "name": "cat"}, {"id": 18, "name": "dog"}]}
    (root / "annotations" / "instances_val2017.json").write_text(json.dumps(doc))
    return root, {1: cat, 2: dog, 3: crowd}


def voc_xml(objects: list[tuple[str, list[int], int]], h: int, w: int) -> bytes:
    ann = ET.Element("annotation")
    ET.SubElement(ann, "filename").text = "x.jpg"
    size = ET.SubElement(ann, "size")
    ET.SubElement(size, "width").text, ET.SubElement(size, "height").text = str(w), str(h)
    ET.SubElement(ann, "segmented").text = "1"
    for name, (x1, y1, x2, y2), difficult in objects:
        o = ET.SubElement(ann, "object")
        ET.SubElement(o, "name").text = name
        ET.SubElement(o, "difficult").text = str(difficult)
        bb = ET.SubElement(o, "bndbox")
        for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), (x1, y1, x2, y2), strict=True):
            ET.SubElement(bb, tag).text = str(v)
    return ET.tostring(ann)


def make_voc(root: Path) -> tuple[Path, np.ndarray]:
    """VOC2012 with one image: object 1 a person, object 2 a (difficult) dog, object 3 a cat with no pixels;
    instance 255 borders around them, as the devkit draws them."""
    year = root / "VOCdevkit" / "VOC2012"
    h, w = 20, 30
    inst = np.zeros((h, w), np.uint8)
    inst[1:11, 1:11] = 255
    inst[2:10, 2:10] = 1
    inst[11:19, 14:29] = 255
    inst[12:18, 15:28] = 2
    save_jpeg(year / "JPEGImages" / "2007_000032.jpg", h, w)
    save_palette_png(year / "SegmentationObject" / "2007_000032.png", inst)
    (year / "Annotations").mkdir(parents=True)
    (year / "Annotations" / "2007_000032.xml").write_bytes(voc_xml(
        [("person", [3, 3, 10, 10], 0), ("dog", [16, 13, 28, 18], 1), ("cat", [1, 1, 2, 2], 0)], h, w))
    (year / "ImageSets" / "Segmentation").mkdir(parents=True)
    (year / "ImageSets" / "Segmentation" / "val.txt").write_text("2007_000032\n")
    return year, inst
