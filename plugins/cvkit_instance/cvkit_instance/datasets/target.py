"""The raw instance target: the core's box target (``boxes``, ``labels``, ``difficult``, ``iscrowd``, ``area``,
``size``, ``image_id``; see :mod:`cvkit.vision.detections`) plus ``segmentation``, one mask source per object:

- a COCO ``segmentation``: polygons, uncompressed RLE (crowd regions) or compressed RLE, as in the JSON; or
- ``{"png": PATH, "value": k}``: the pixels equal to ``k`` in a VOC ``SegmentationObject`` palette PNG.

Masks are decoded only when needed (:func:`object_masks` for training, :func:`gt_segmentations` for the metric), so a
parsed split stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cvkit.errors import BadInput
from cvkit.vision.detections import make_target


def make_instance_target(boxes: Any, labels: Any, size: tuple[int, int], segmentation: list[Any],
                         file: str | Path = "", **kw: Any) -> dict[str, Any]:
    """A detection target with ``segmentation`` (one mask source per object) and ``file``, the annotation file
    named in error messages."""
    t = make_target(boxes, labels, size, **kw)
    if len(segmentation) != len(t["labels"]):
        raise ValueError(f"{len(segmentation)} masks for {len(t['labels'])} objects")
    t["segmentation"] = list(segmentation)
    t["file"] = str(file)
    return t


def read_index_png(path: str | Path) -> np.ndarray:
    """The pixel values (palette indices) of a VOC label PNG, never converted to RGB."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            if img.mode not in ("P", "L"):
                raise BadInput(path, f"mode {img.mode!r}: expected a palette (P) or greyscale PNG of instance numbers")
            return np.array(img, dtype=np.uint8)
    except FileNotFoundError:
        raise BadInput(path, "object label image not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BadInput(path, f"not a readable label image ({type(exc).__name__}: {exc})") from None


def decode_segmentation(segm: Any, h: int, w: int) -> np.ndarray:
    """One COCO ``segmentation`` (polygons, uncompressed or compressed RLE) as an ``(h, w)`` bool mask."""
    from pycocotools import mask as mask_utils

    if isinstance(segm, list):
        polys = [p for p in segm if len(p) >= 6]
        if not polys:
            return np.zeros((h, w), bool)
        rle = mask_utils.merge(mask_utils.frPyObjects(polys, h, w))
    elif isinstance(segm, dict) and isinstance(segm.get("counts"), list):
        rle = mask_utils.frPyObjects(segm, *segm["size"])
    elif isinstance(segm, dict) and "counts" in segm:
        rle = segm
    else:
        raise ValueError(f"segmentation must be polygons or RLE, got {type(segm).__name__}")
    m = mask_utils.decode(rle).astype(bool)
    if m.shape != (h, w):
        raise ValueError(f"mask size {list(m.shape)} differs from the image size {[h, w]}")
    return m


def _png_masks(target: dict[str, Any]) -> dict[str, np.ndarray]:
    return {s["png"]: read_index_png(s["png"]) for s in target["segmentation"] if isinstance(s, dict) and "png" in s}


def image_size(target: dict[str, Any], pngs: dict[str, np.ndarray]) -> tuple[int, int]:
    h, w = target["size"]
    if (h <= 0 or w <= 0) and pngs:
        h, w = next(iter(pngs.values())).shape
    return int(h), int(w)


def object_masks(target: dict[str, Any]) -> np.ndarray:
    """``(N, H, W)`` uint8 masks of the target's objects, in object order."""
    pngs = _png_masks(target)
    h, w = image_size(target, pngs)
    out = np.zeros((len(target["segmentation"]), h, w), np.uint8)
    for j, s in enumerate(target["segmentation"]):
        if isinstance(s, dict) and "png" in s:
            arr = pngs[s["png"]]
            if arr.shape != (h, w):
                raise BadInput(s["png"], f"size {arr.shape[1]}x{arr.shape[0]} differs from the image's {w}x{h}")
            out[j] = arr == int(s["value"])
            continue
        try:
            out[j] = decode_segmentation(s, h, w)
        except (ValueError, TypeError, KeyError) as exc:
            raise BadInput(target.get("file") or "annotations", f"bad segmentation ({exc})",
                           where=f"image {target.get('image_id')}, object {j}") from None
    return out


def gt_segmentations(target: dict[str, Any]) -> list[Any]:
    """The objects' masks in a form pycocotools' ground truth takes: COCO segmentations as given (pycocotools turns
    polygons into RLE itself), VOC PNG objects as compressed RLE."""
    if not any(isinstance(s, dict) and "png" in s for s in target["segmentation"]):
        return list(target["segmentation"])
    from pycocotools import mask as mask_utils

    masks = object_masks(target)
    out = []
    for s, m in zip(target["segmentation"], masks, strict=True):
        if isinstance(s, dict) and "png" in s:
            rle = mask_utils.encode(np.asfortranarray(m))
            out.append({"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")})
        else:
            out.append(s)
    return out
