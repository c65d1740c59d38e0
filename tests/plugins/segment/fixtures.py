"""Real-format fixtures: VOC palette PNGs, SBD .mat files, COCO instances JSON."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from cvkit_segment.palette import voc_colormap


def save_palette_png(path: Path, labels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.frombytes("P", labels.shape[::-1], labels.astype(np.uint8).tobytes())
    img.putpalette(voc_colormap().ravel().tolist())
    img.save(path)


def save_jpeg(path: Path, h: int, w: int, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cv2.imwrite(str(path), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def voc_label(h: int = 20, w: int = 30) -> np.ndarray:
    """Background, an aeroplane (1) and a person (15), each with a 1-px void (255) border, as VOC draws them."""
    lab = np.zeros((h, w), np.uint8)
    lab[2:10, 3:12] = 255
    lab[3:9, 4:11] = 1
    lab[11:19, 15:28] = 255
    lab[12:18, 16:27] = 15
    return lab


def make_voc(root: Path, ids: dict[str, list[str]], label: np.ndarray | None = None) -> Path:
    """``root/VOCdevkit/VOC2012`` with JPEGImages, SegmentationClass and ImageSets/Segmentation."""
    year = root / "VOCdevkit" / "VOC2012"
    label = voc_label() if label is None else label
    all_ids = sorted({i for v in ids.values() for i in v})
    for k, image_id in enumerate(all_ids):
        save_jpeg(year / "JPEGImages" / f"{image_id}.jpg", *label.shape, seed=k)
        save_palette_png(year / "SegmentationClass" / f"{image_id}.png", label)
    (year / "ImageSets" / "Segmentation").mkdir(parents=True, exist_ok=True)
    for split, names in ids.items():
        (year / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("".join(f"{n}\n" for n in names))
    return year


def make_sbd(root: Path, labels: dict[str, np.ndarray], split: str = "train") -> Path:
    from scipy.io import savemat

    ds = root / "benchmark_RELEASE" / "dataset"
    for image_id, lab in labels.items():
        save_jpeg(ds / "img" / f"{image_id}.jpg", *lab.shape)
        (ds / "cls").mkdir(parents=True, exist_ok=True)
        savemat(ds / "cls" / f"{image_id}.mat", {"GTcls": {"Segmentation": lab, "Boundaries": np.zeros(1),
                                                          "CategoriesPresent": np.unique(lab[lab > 0])}})
    (ds / f"{split}.txt").write_text("".join(f"{i}\n" for i in labels))
    return ds


def square(x: float, y: float, s: float) -> list[float]:
    return [x, y, x + s, y, x + s, y + s, x, y + s]


def uncompressed_rle(mask: np.ndarray) -> list[int]:
    """COCO's crowd RLE: run lengths over the column-major pixels, starting with a run of zeros."""
    flat = mask.ravel(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat[0] else runs


def make_coco(root: Path) -> Path:
    """Two 24x32 images: a person polygon overlapping a couch polygon, a giraffe (not a VOC class), a crowd of
    people as uncompressed RLE; the second image has one compressed-RLE bicycle."""
    from pycocotools import mask as mask_utils

    h, w = 24, 32
    crowd = np.zeros((h, w), np.uint8)
    crowd[18:22, 0:10] = 1
    counts = uncompressed_rle(crowd)
    bike = np.zeros((h, w), np.uint8)
    bike[4:12, 20:30] = 1
    bike_rle = mask_utils.encode(np.asfortranarray(bike))
    images = [{"id": 7, "file_name": "a.jpg", "height": h, "width": w},
              {"id": 9, "file_name": "b.jpg", "height": h, "width": w}]
    anns = [
        {"id": 1, "image_id": 7, "category_id": 1, "iscrowd": 0, "bbox": [2, 2, 10, 10], "area": 100,
         "segmentation": [square(2, 2, 10)]},
        {"id": 2, "image_id": 7, "category_id": 63, "iscrowd": 0, "bbox": [8, 8, 10, 6], "area": 60,
         "segmentation": [square(8, 8, 6)]},
        {"id": 3, "image_id": 7, "category_id": 25, "iscrowd": 0, "bbox": [22, 2, 6, 6], "area": 36,
         "segmentation": [square(22, 2, 6)]},
        {"id": 4, "image_id": 7, "category_id": 1, "iscrowd": 1, "bbox": [0, 18, 10, 4], "area": 40,
         "segmentation": {"size": [h, w], "counts": counts}},
        {"id": 5, "image_id": 9, "category_id": 2, "iscrowd": 0, "bbox": [20, 4, 10, 8], "area": 80,
         "segmentation": {"size": [h, w], "counts": bike_rle["counts"].decode("ascii")}},
    ]
    cats = [{"id": 1, "name": "person"}, {"id": 2, "name": "bicycle"}, {"id": 25, "name": "giraffe"},
            {"id": 63, "name": "couch"}]
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for im in images:
        save_jpeg(root / "val2017" / im["file_name"], h, w)
    f = root / "annotations" / "instances_val2017.json"
    f.write_text(json.dumps({"info": {}, "licenses": [], "images": images, "annotations": anns, "categories": cats}))
    return root
