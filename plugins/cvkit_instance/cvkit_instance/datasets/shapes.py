"""``builtin:shapes`` for instance segmentation: the detection plugin's generated scenes (circles, squares and
rotated triangles on noisy gradient backgrounds, random colours) drawn at 64 x 64 px, with one mask per object.

Written as a real COCO dataset (``cvkit data make shapes --task instance --out DIR``): ``train2017/``, ``val2017/``
and ``annotations/instances_{train,val}2017.json`` whose ``segmentation`` fields are compressed RLE (visible pixels
of each object; ``bbox`` and ``area`` are those of the mask). ``--size N`` training images (default 1,000; validation
gets N/10). Deterministic from the seed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.errors import CvkitError
from cvkit.task import BuiltinDataset
from cvkit_detect.datasets.shapes import CLASSES, _save_jpeg, generate

IMAGE_SIZE = 64
DEFAULT_SIZE = 1000


def write_coco_rle(out: Path, counts: dict[str, int], seed: int) -> None:
    from pycocotools import mask as mask_utils

    (out / "annotations").mkdir(parents=True, exist_ok=True)
    categories = [{"id": c + 1, "name": n, "supercategory": "shape"} for c, n in enumerate(CLASSES)]
    for split, n in counts.items():
        (out / f"{split}2017").mkdir(exist_ok=True)
        images, anns = [], []
        for i in range(n):
            img, objects = generate(seed, split, i, IMAGE_SIZE)
            name = f"{i + 1:012d}.jpg"
            _save_jpeg(out / f"{split}2017" / name, img)
            images.append({"id": i + 1, "file_name": name, "height": img.shape[0], "width": img.shape[1]})
            for o in objects:
                rle = mask_utils.encode(np.asfortranarray(o["mask"].astype(np.uint8)))
                x1, y1, x2, y2 = o["box"]
                anns.append({
                    "id": len(anns) + 1, "image_id": i + 1, "category_id": o["label"] + 1, "iscrowd": 0,
                    "bbox": [x1, y1, x2 - x1, y2 - y1], "area": o["area"],
                    "segmentation": {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")},
                })
        doc = {"info": {"description": "cvkit builtin shapes (instance masks)", "version": "1"}, "licenses": [],
               "images": images, "annotations": anns, "categories": categories}
        (out / "annotations" / f"instances_{split}2017.json").write_text(json.dumps(doc))


class ShapesInstanceDataset(BuiltinDataset):
    name = "shapes"
    formats = ("coco",)
    description = "circles, squares and triangles with RLE masks, 64 px, COCO layout; SIZE train images"

    def card(self) -> dict[str, Any]:
        """Shapes may also be flipped vertically."""
        return {"defaults": {"model_args": {"vflip": True}}}

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        if fmt not in self.formats:
            raise CvkitError(f"shapes for instance segmentation can be written as coco, not {fmt!r}")
        n = DEFAULT_SIZE if size is None else int(size)
        counts = {"train": n, "val": max(1, n // 10)}
        out = Path(out)
        if out.exists() and any(out.iterdir()):
            raise CvkitError(f"{out} exists and is not empty")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            write_coco_rle(tmp, counts, seed)
            if out.exists():
                out.rmdir()
            os.replace(tmp, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return f"coco:{out}"
