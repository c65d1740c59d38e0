"""The embedded ``shapes`` scenes: circles, squares and rotated triangles on noisy gradient backgrounds.

Square images (128 px by default) with 1-4 objects of 12-48 px, random colours, overlapping a little (each object
stays at least ~70% visible; its box, area and mask are those of its visible pixels). Deterministic from the seed:
image ``i`` of a split is drawn from its own generator ``(seed, split, i)``, so any size is a prefix-stable subset.

:func:`write_shapes` stores a split pair as a real dataset that the ordinary readers load back:

- ``coco``: ``{train,val}2017/`` JPEGs and ``annotations/instances_{train,val}2017.json`` with boxes, areas and
  masks as polygons (``masks="polygon"``) or compressed RLE (``masks="rle"``). Detection, instance segmentation,
  multi-label classification (the categories present in an image) and promptable segmentation read this.
- ``voc``: ``JPEGImages/``, ``Annotations/<id>.xml``, ``ImageSets/Main/{train,val,trainval}.txt`` and the per-class
  lists ``<class>_<split>.txt`` (1 present / -1 absent).
- ``voc-seg``: ``JPEGImages/``, ``SegmentationClass/`` (palette PNGs: 0 background, 1 circle, 2 square, 3 triangle),
  ``SegmentationObject/`` (instance numbers in the order of the objects of ``Annotations/<id>.xml``),
  ``ImageSets/Segmentation/{train,val,trainval}.txt`` and a ``labelmap.txt`` naming the classes.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from cvkit.errors import CvkitError
from cvkit.vision.masks import encode_label_png, encode_rle, mask_polygons, voc_colormap

CLASSES = ("circle", "square", "triangle")
IMAGE_SIZE = 128
SPLITS = {"train": 0, "val": 1}
FORMATS = ("coco", "voc", "voc-seg")


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
    """Image ``i`` of ``split``: an RGB uint8 ``(s, s, 3)`` array and its objects ``[{"label", "box": [x1, y1, x2,
    y2] (pixel edges, ints), "area" (visible pixels), "mask" (bool (s, s))}]`` in drawing order."""
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


def label_maps(objects: list[dict[str, Any]], s: int) -> tuple[np.ndarray, np.ndarray]:
    """Class map (0 background, label + 1) and instance map (object number + 1) ``(s, s)`` uint8 of a scene."""
    labels = np.zeros((s, s), np.uint8)
    instances = np.zeros((s, s), np.uint8)
    for k, o in enumerate(objects):
        labels[o["mask"]] = o["label"] + 1
        instances[o["mask"]] = k + 1
    return labels, instances


def save_jpeg(path: str | Path, rgb: np.ndarray) -> None:
    """Write an RGB uint8 array as a quality-95 JPEG (into a folder being built: not atomic)."""
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95]):
        raise CvkitError(f"cannot write {path}")


def voc_xml(image_id: str, s: int, objects: list[dict[str, Any]], classes: tuple[str, ...] = CLASSES,
            folder: str = "shapes") -> bytes:
    """A VOC ``Annotations/<id>.xml`` for an ``s x s`` image: pixel-edge boxes become 1-based inclusive."""
    ann = ET.Element("annotation")
    ET.SubElement(ann, "folder").text = folder
    ET.SubElement(ann, "filename").text = f"{image_id}.jpg"
    size = ET.SubElement(ann, "size")
    for tag, v in (("width", s), ("height", s), ("depth", 3)):
        ET.SubElement(size, tag).text = str(v)
    ET.SubElement(ann, "segmented").text = "0"
    for o in objects:
        obj = ET.SubElement(ann, "object")
        ET.SubElement(obj, "name").text = classes[o["label"]]
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = "0"
        ET.SubElement(obj, "difficult").text = "0"
        bb = ET.SubElement(obj, "bndbox")
        x1, y1, x2, y2 = o["box"]
        for tag, v in (("xmin", x1 + 1), ("ymin", y1 + 1), ("xmax", x2), ("ymax", y2)):
            ET.SubElement(bb, tag).text = str(v)
    ET.indent(ann)
    return ET.tostring(ann, encoding="utf-8")


def _write_voc(out: Path, counts: dict[str, int], seed: int, s: int) -> None:
    for d in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (out / d).mkdir(parents=True, exist_ok=True)
    ids: dict[str, list[str]] = {}
    present: dict[str, list[set[int]]] = {}
    for split, n in counts.items():
        ids[split], present[split] = [], []
        for i in range(n):
            image_id = f"{split}_{i:06d}"
            img, objects = generate(seed, split, i, s)
            save_jpeg(out / "JPEGImages" / f"{image_id}.jpg", img)
            (out / "Annotations" / f"{image_id}.xml").write_bytes(voc_xml(image_id, img.shape[0], objects))
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


def _write_voc_seg(out: Path, counts: dict[str, int], seed: int, s: int) -> None:
    for d in ("JPEGImages", "SegmentationClass", "SegmentationObject", "Annotations", "ImageSets/Segmentation"):
        (out / d).mkdir(parents=True, exist_ok=True)
    classes = ("background", *CLASSES)
    cmap = voc_colormap(len(classes))
    lines = ["# label:color_rgb:parts:actions"] + [f"{n}:{','.join(str(int(v)) for v in c)}::"
                                                   for n, c in zip(classes, cmap, strict=True)]
    (out / "labelmap.txt").write_text("\n".join(lines) + "\n")
    ids: dict[str, list[str]] = {}
    for split, n in counts.items():
        ids[split] = []
        for i in range(n):
            image_id = f"{split}_{i:06d}"
            img, objects = generate(seed, split, i, s)
            labels, instances = label_maps(objects, s)
            save_jpeg(out / "JPEGImages" / f"{image_id}.jpg", img)
            (out / "SegmentationClass" / f"{image_id}.png").write_bytes(encode_label_png(labels))
            (out / "SegmentationObject" / f"{image_id}.png").write_bytes(encode_label_png(instances))
            (out / "Annotations" / f"{image_id}.xml").write_bytes(voc_xml(image_id, img.shape[0], objects))
            ids[split].append(image_id)
    ids["trainval"] = ids["train"] + ids["val"]
    for split, names in ids.items():
        (out / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("".join(f"{n}\n" for n in names))


def _write_coco(out: Path, counts: dict[str, int], seed: int, s: int, masks: str) -> None:
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    categories = [{"id": c + 1, "name": n, "supercategory": "shape"} for c, n in enumerate(CLASSES)]
    for split, n in counts.items():
        (out / f"{split}2017").mkdir(exist_ok=True)
        images, anns = [], []
        for i in range(n):
            img, objects = generate(seed, split, i, s)
            name = f"{i + 1:012d}.jpg"
            save_jpeg(out / f"{split}2017" / name, img)
            images.append({"id": i + 1, "file_name": name, "height": img.shape[0], "width": img.shape[1]})
            for o in objects:
                x1, y1, x2, y2 = o["box"]
                segm = encode_rle(o["mask"]) if masks == "rle" else mask_polygons(o["mask"])
                anns.append({
                    "id": len(anns) + 1, "image_id": i + 1, "category_id": o["label"] + 1, "iscrowd": 0,
                    "bbox": [x1, y1, x2 - x1, y2 - y1], "area": o["area"], "segmentation": segm,
                })
        what = "cvkit builtin shapes (instance masks)" if masks == "rle" else "cvkit builtin shapes"
        doc = {"info": {"description": what, "version": "1"}, "licenses": [], "images": images,
               "annotations": anns, "categories": categories}
        (out / "annotations" / f"instances_{split}2017.json").write_text(json.dumps(doc))


def write_shapes(out: str | Path, size: int, seed: int, fmt: str = "coco", image_size: int = IMAGE_SIZE,
                 masks: str = "polygon", val_size: int | None = None) -> Path:
    """Write ``size`` training and ``val_size`` (default ``max(1, size // 10)``) validation scenes of
    ``image_size`` px into ``out`` (absent or empty) in ``fmt`` (:data:`FORMATS`); ``masks``: ``polygon`` or
    ``rle`` for COCO. Returns ``out``. The caller publishes the folder (write into a fresh one)."""
    if fmt not in FORMATS:
        raise CvkitError(f"shapes can be written as {', '.join(FORMATS)}, not {fmt!r}")
    if masks not in ("polygon", "rle"):
        raise ValueError(f"masks must be 'polygon' or 'rle', not {masks!r}")
    n = int(size)
    if n < 0 or image_size < 48:  # objects are up to 48 px
        raise CvkitError(f"shapes needs --size >= 0 and images of at least 48 px, got {n} and {image_size}")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise CvkitError(f"{out} exists and is not empty")
    out.mkdir(parents=True, exist_ok=True)
    counts = {"train": n, "val": max(1, n // 10) if val_size is None else int(val_size)}
    if fmt == "coco":
        _write_coco(out, counts, seed, image_size, masks)
    elif fmt == "voc":
        _write_voc(out, counts, seed, image_size)
    else:
        _write_voc_seg(out, counts, seed, image_size)
    return out
