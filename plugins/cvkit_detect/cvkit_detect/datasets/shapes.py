"""``builtin:shapes``: procedurally generated scenes of circles, squares and rotated triangles.

128x128 images with 1-4 objects of 12-48 px, random colours on noisy gradient backgrounds, overlapping a little
(each object stays at least ~70% visible; its box and area are those of its visible pixels). Deterministic from the
seed: image ``i`` of a split is drawn from its own generator ``(seed, split, i)``, so any size is a prefix-stable
subset. ``write`` stores it as a real VOC or COCO dataset; the loaders read it back like any other.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from cvkit.errors import CvkitError
from cvkit.task import BuiltinDataset

CLASSES = ("circle", "square", "triangle")
IMAGE_SIZE = 128
SPLITS = {"train": 0, "val": 1}


def _background(rng: np.random.Generator, s: int) -> np.ndarray:
    base = rng.uniform(0, 255, 3)
    direction = rng.uniform(-60, 60, 3)
    ramp = np.linspace(-0.5, 0.5, s)
    grad = ramp[None, :, None] * direction if rng.random() < 0.5 else ramp[:, None, None] * direction
    img = base + grad + rng.normal(0, 8, (s, s, 3))
    return img.clip(0, 255)


def _shape_mask(rng: np.random.Generator, cls: int, s: int) -> np.ndarray:
    size = rng.uniform(12, 48)
    cx, cy = rng.uniform(size / 2, s - size / 2, 2)
    mask = np.zeros((s, s), np.uint8)
    if cls == 0:
        cv2.circle(mask, (round(cx), round(cy)), max(3, round(size / 2)), 1, -1)
    elif cls == 1:
        h = size / 2
        cv2.rectangle(mask, (round(cx - h), round(cy - h)), (round(cx + h) - 1, round(cy + h) - 1), 1, -1)
    else:
        a0 = rng.uniform(0, 2 * math.pi)
        pts = [(cx + size / 2 * math.cos(a0 + k * 2 * math.pi / 3), cy + size / 2 * math.sin(a0 + k * 2 * math.pi / 3))
               for k in range(3)]
        cv2.fillPoly(mask, [np.round(np.array(pts)).astype(np.int32)], 1)
    return mask.astype(bool)


def generate(seed: int, split: str, i: int, s: int = IMAGE_SIZE) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Image ``i`` of ``split``: an RGB uint8 ``(s, s, 3)`` array and its objects
    ``[{"label", "box": [x1, y1, x2, y2] (pixel edges), "area", "mask"}]``."""
    rng = np.random.default_rng([seed, SPLITS[split], i])
    img = _background(rng, s)
    bg_mean = img.mean((0, 1))
    objects: list[dict[str, Any]] = []
    occupied = np.zeros((s, s), bool)
    for _ in range(int(rng.integers(1, 5))):
        for _attempt in range(20):
            cls = int(rng.integers(len(CLASSES)))
            mask = _shape_mask(rng, cls, s)
            if (mask & occupied).sum() <= 0.3 * mask.sum() and all(
                (o["mask"] & mask).sum() <= 0.3 * o["mask"].sum() for o in objects
            ):
                break
        else:
            continue
        colour = rng.uniform(0, 255, 3)
        while np.abs(colour - bg_mean).sum() < 150:
            colour = rng.uniform(0, 255, 3)
        img[mask] = colour + rng.normal(0, 4, (int(mask.sum()), 3))
        for o in objects:
            o["mask"] &= ~mask
        objects.append({"label": cls, "mask": mask.copy()})
        occupied |= mask
    for o in objects:
        ys, xs = np.nonzero(o["mask"])
        o["box"] = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
        o["area"] = int(o["mask"].sum())
    return img.clip(0, 255).astype(np.uint8), objects


def _save_jpeg(path: Path, rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95]):
        raise CvkitError(f"cannot write {path}")


def _voc_xml(image_id: str, s: int, objects: list[dict[str, Any]]) -> bytes:
    ann = ET.Element("annotation")
    ET.SubElement(ann, "folder").text = "shapes"
    ET.SubElement(ann, "filename").text = f"{image_id}.jpg"
    size = ET.SubElement(ann, "size")
    for tag, v in (("width", s), ("height", s), ("depth", 3)):
        ET.SubElement(size, tag).text = str(v)
    ET.SubElement(ann, "segmented").text = "0"
    for o in objects:
        obj = ET.SubElement(ann, "object")
        ET.SubElement(obj, "name").text = CLASSES[o["label"]]
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = "0"
        ET.SubElement(obj, "difficult").text = "0"
        bb = ET.SubElement(obj, "bndbox")
        x1, y1, x2, y2 = o["box"]  # pixel edges -> 1-based inclusive
        for tag, v in (("xmin", x1 + 1), ("ymin", y1 + 1), ("xmax", x2), ("ymax", y2)):
            ET.SubElement(bb, tag).text = str(v)
    ET.indent(ann)
    return ET.tostring(ann, encoding="utf-8")


def _polygon(mask: np.ndarray) -> list[list[float]]:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1).astype(float).tolist() for c in contours if len(c) >= 3]


def write_voc(out: Path, counts: dict[str, int], seed: int) -> None:
    for d in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (out / d).mkdir(parents=True, exist_ok=True)
    ids: dict[str, list[str]] = {}
    present: dict[str, list[set[int]]] = {}
    for split, n in counts.items():
        ids[split], present[split] = [], []
        for i in range(n):
            image_id = f"{split}_{i:06d}"
            img, objects = generate(seed, split, i)
            _save_jpeg(out / "JPEGImages" / f"{image_id}.jpg", img)
            (out / "Annotations" / f"{image_id}.xml").write_bytes(_voc_xml(image_id, img.shape[0], objects))
            ids[split].append(image_id)
            present[split].append({o["label"] for o in objects})
    ids["trainval"] = ids["train"] + ids["val"]
    present["trainval"] = present["train"] + present["val"]
    main = out / "ImageSets" / "Main"
    for split, names in ids.items():
        (main / f"{split}.txt").write_text("".join(f"{n}\n" for n in names))
        for c, cls in enumerate(CLASSES):
            lines = [f"{n} {1 if c in p else -1:2d}\n" for n, p in zip(names, present[split], strict=True)]
            (main / f"{cls}_{split}.txt").write_text("".join(lines))


def write_coco(out: Path, counts: dict[str, int], seed: int) -> None:
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    categories = [{"id": c + 1, "name": n, "supercategory": "shape"} for c, n in enumerate(CLASSES)]
    for split, n in counts.items():
        (out / f"{split}2017").mkdir(exist_ok=True)
        images, anns = [], []
        for i in range(n):
            img, objects = generate(seed, split, i)
            name = f"{i + 1:012d}.jpg"
            _save_jpeg(out / f"{split}2017" / name, img)
            images.append({"id": i + 1, "file_name": name, "height": img.shape[0], "width": img.shape[1]})
            for o in objects:
                x1, y1, x2, y2 = o["box"]
                anns.append({
                    "id": len(anns) + 1, "image_id": i + 1, "category_id": o["label"] + 1, "iscrowd": 0,
                    "bbox": [x1, y1, x2 - x1, y2 - y1], "area": o["area"], "segmentation": _polygon(o["mask"]),
                })
        doc = {"info": {"description": "cvkit builtin shapes", "version": "1"}, "licenses": [], "images": images,
               "annotations": anns, "categories": categories}
        (out / "annotations" / f"instances_{split}2017.json").write_text(json.dumps(doc))


class ShapesDataset(BuiltinDataset):
    name = "shapes"
    formats = ("coco", "voc")
    description = "circles, squares and triangles on noisy backgrounds, 128 px; SIZE train images (default 2000)"

    def card(self) -> dict[str, Any]:
        """Shapes are symmetric: vertical flips help."""
        return {"defaults": {"model_args": {"vflip": True}}}

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        if fmt not in self.formats:
            raise CvkitError(f"shapes can be written as {' or '.join(self.formats)}, not {fmt!r}")
        n = 2000 if size is None else int(size)
        counts = {"train": n, "val": max(1, n // 10)}
        out = Path(out)
        if out.exists() and any(out.iterdir()):
            raise CvkitError(f"{out} exists and is not empty")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            (write_voc if fmt == "voc" else write_coco)(tmp, counts, seed)
            if out.exists():
                out.rmdir()
            os.replace(tmp, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return f"{fmt}:{out}"
