"""Prediction records (JSONL), CSV rows, COCO results, label PNGs, and reading predictions back.

A record is ``{"mask_png": PATH, "size": [h, w], "classes": [{"label", "index", "pixels", "rle"}]}``: the palette
PNG written for the image (class indices, VOC colours) and, per predicted class, its pixel count and its mask as a
COCO compressed RLE (``{"size": [h, w], "counts": str}``), so a JSONL file is complete without the PNGs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.contract import DatasetInfo
from cvkit.errors import BadInput
from cvkit.io.atomic import write_bytes
from cvkit.vision.masks import decode_rle, encode_rle
from cvkit_segment.metrics.evaluator import as_labels
from cvkit_segment.palette import encode_label_png, read_label_png


def record(prediction: Any, info: DatasetInfo, png: Path | None = None) -> dict[str, Any]:
    """The record of a prediction; ``png``: where its label PNG is written (none when None)."""
    labels = as_labels(prediction)
    h, w = labels.shape
    counts = np.bincount(labels.ravel().astype(np.int64), minlength=len(info.classes))
    classes = []
    for k in np.nonzero(counts)[0]:
        k = int(k)
        classes.append({"label": info.classes[k] if k < len(info.classes) else str(k), "index": k,
                        "pixels": int(counts[k]), "rle": encode_rle(labels == k)})
    rec: dict[str, Any] = {}
    if png is not None:
        write_bytes(png, encode_label_png(labels, info.extra.get("colours")))
        rec["mask_png"] = str(png)
    rec.update({"size": [int(h), int(w)], "classes": classes})
    return rec


def parse_record(rec: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
    """The label map of a record (from its RLEs, else its ``mask_png``); ``{}`` is the empty prediction."""
    classes = rec.get("classes")
    if classes is not None and "size" in rec and all(isinstance(c, dict) and "rle" in c for c in classes):
        names = {c: i for i, c in enumerate(info.classes)}
        labels = np.zeros([int(v) for v in rec["size"]], np.uint8)
        for j, c in enumerate(classes):
            k = int(c["index"]) if "index" in c else names[c["label"]]
            m = decode_rle(c["rle"])
            if m.shape != labels.shape:
                raise ValueError(f"classes[{j}].rle has size {list(m.shape)}, the record {list(labels.shape)}")
            labels[m] = k
        return {"labels": labels}
    if "mask_png" in rec:
        return {"labels": read_label_png(rec["mask_png"], info.extra.get("colours"))}
    if not rec or set(rec) <= {"source", "task"}:
        return {"labels": None}
    raise ValueError("record has neither per-class 'rle' masks nor a 'mask_png'")


def csv_rows(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per predicted class: source, label, index, pixels, mask_png."""
    return [{"source": rec.get("source", ""), "label": c["label"], "index": c["index"], "pixels": c["pixels"],
             "mask_png": rec.get("mask_png", "")} for c in rec.get("classes", [])]


def coco_results(prediction: Any, info: DatasetInfo, image_id: Any) -> list[dict[str, Any]]:
    """COCO stuff-segmentation results: one ``{image_id, category_id, segmentation}`` per predicted class
    (background excluded); category ids are the dataset's (COCO) or the class indices."""
    labels = as_labels(prediction)
    cats = info.extra.get("category_ids") or list(range(len(info.classes)))
    return [{"image_id": image_id, "category_id": int(cats[int(k)]), "segmentation": encode_rle(labels == k)}
            for k in np.unique(labels) if 0 < int(k) < len(info.classes)]


def read_coco_results(path: Path, info: DatasetInfo) -> Iterator[tuple[str, dict[str, Any]]] | None:
    """A COCO stuff-segmentation results list (what :func:`coco_results` writes) as ``(image, label map)``: each
    entry's RLE paints its class; pixels no entry covers are background. None when ``path`` is not a JSON list."""
    import json

    from cvkit.io.limits import too_large
    from cvkit.vision.results import is_results_file

    path = Path(path)
    if not is_results_file(path):
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(path, f"malformed JSON: {exc}") from None
    cats = info.extra.get("category_ids") or list(range(len(info.classes)))
    index = {int(c): k for k, c in enumerate(cats)}
    names = {v: k for k, v in (info.extra.get("image_ids") or {}).items()}
    maps: dict[Any, np.ndarray] = {}
    for j, r in enumerate(data):
        if not isinstance(r, dict) or "image_id" not in r or "category_id" not in r or "segmentation" not in r:
            raise BadInput(path, "expected {\"image_id\", \"category_id\", \"segmentation\"}", where=f"[{j}]")
        k = index.get(r["category_id"]) if type(r["category_id"]) is int else None
        if k is None:
            raise BadInput(path, f"bad result: category_id {r['category_id']!r} is not a category of the dataset",
                           where=f"[{j}].category_id")
        size = r["segmentation"].get("size") if isinstance(r["segmentation"], dict) else None
        if isinstance(size, list) and len(size) == 2 and all(type(v) is int for v in size) \
                and (reason := too_large(size[1], size[0])):
            raise BadInput(path, f"bad result: segmentation size: {reason}", where=f"[{j}].segmentation")
        try:
            mask = decode_rle(r["segmentation"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(path, f"bad result: segmentation is not an RLE ({exc})", where=f"[{j}].segmentation") \
                from None
        labels = maps.setdefault(r["image_id"], np.zeros(mask.shape, np.uint8))
        if labels.shape != mask.shape:
            raise BadInput(path, f"bad result: segmentation size {list(mask.shape)} differs from the image's "
                           f"earlier {list(labels.shape)}", where=f"[{j}].segmentation")
        labels[mask.astype(bool)] = k

    def items() -> Iterator[tuple[str, dict[str, Any]]]:
        for image_id, labels in maps.items():
            yield str(names.get(image_id, image_id)), {"labels": labels}

    return items()


def read_png_folder(path: Path, info: DatasetInfo) -> Iterator[tuple[str, dict[str, Any]]] | None:
    """A folder of label PNGs named ``<image id>.png`` (the VOC results layout); None when ``path`` is a file."""
    path = Path(path)
    if not path.is_dir():
        return None
    files = sorted(path.glob("*.png"))
    if not files:
        raise BadInput(path, "no .png label images in this folder")

    def items() -> Iterator[tuple[str, dict[str, Any]]]:
        for f in files:
            yield f.stem, {"labels": read_label_png(f, info.extra.get("colours"))}

    return items()


def png_name(folder: Path, name: str) -> Path:
    """``folder/<stem>.png`` for an input named ``name`` (the VOC results layout: one PNG per image id)."""
    return folder / f"{Path(name).stem or 'image'}.png"
