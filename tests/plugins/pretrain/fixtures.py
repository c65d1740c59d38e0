"""Tiny real-format datasets for the pretraining tests: an ImageFolder tree and a COCO instances set."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np


def blob_image(rng: np.random.Generator, cls: int, size: int = 32) -> np.ndarray:
    """An RGB image of a bright square (class 0) or disc (class 1) on noise."""
    img = (rng.random((size, size, 3)) * 60).astype(np.uint8)
    c = int(rng.integers(size // 3, 2 * size // 3))
    r = size // 5
    colour = tuple(int(v) for v in rng.integers(120, 256, 3))
    if cls == 0:
        cv2.rectangle(img, (c - r, c - r), (c + r, c + r), colour, -1)
    else:
        cv2.circle(img, (c, c), r, colour, -1)
    return img


def write_png(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def make_imagefolder(root: Path, per_class: dict[str, int] | None = None, seed: int = 0) -> Path:
    """``root/{train,val}/{square,disc}/NNN.png``."""
    rng = np.random.default_rng(seed)
    counts = per_class or {"train": 8, "val": 4}
    for split, n in counts.items():
        for cls, name in enumerate(("square", "disc")):
            for i in range(n):
                write_png(root / split / name / f"{i:03d}.png", blob_image(rng, cls))
    return root


def make_coco(root: Path, n_train: int = 12, n_val: int = 6, seed: int = 0) -> Path:
    """``root/annotations/instances_{train,val}2017.json`` + ``root/{train,val}2017/*.png``: two objects per
    image, the larger one's class is the image's label; every third image has no objects."""
    rng = np.random.default_rng(seed)
    cats = [{"id": 3, "name": "square"}, {"id": 7, "name": "disc"}]
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("val", n_val)):
        images, anns = [], []
        for i in range(n):
            name = f"{i + 1:012d}.png"
            cls = i % 2
            write_png(root / f"{split}2017" / name, blob_image(rng, cls))
            images.append({"id": i + 1, "file_name": name, "width": 32, "height": 32})
            if i % 3 == 2:
                continue
            for k, (c, area) in enumerate(((cls, 100.0), (1 - cls, 30.0), (1 - cls, 50.0))):
                anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": cats[c]["id"], "iscrowd": 0,
                             "bbox": [1.0 + k, 1.0, 10.0, 10.0], "area": area})
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": cats[1 - cls]["id"],
                         "iscrowd": 1, "bbox": [0.0, 0.0, 30.0, 30.0], "area": 900.0,
                         "segmentation": {"size": [32, 32], "counts": [0, 1024]}})
        doc = {"info": {}, "licenses": [], "images": images, "annotations": anns, "categories": cats}
        (root / "annotations" / f"instances_{split}2017.json").write_text(json.dumps(doc))
    return root
