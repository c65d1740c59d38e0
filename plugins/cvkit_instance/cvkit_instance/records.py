"""Prediction records (JSONL), CSV rows, COCO results, and reading a COCO results file back.

A record is ``{"detections": [{"label", "index", "score", "box": [x1, y1, x2, y2], "area", "rle"}]}``, best
first: the detection plugin's fields plus the mask as a COCO compressed RLE (``{"size": [h, w], "counts": str}``) of
the original image and its pixel count. ``--format coco`` writes one result per detection with ``bbox``,
``segmentation`` and ``score`` (as Detectron2 does; scoring a mask result, cvkit ignores its ``bbox``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.errors import BadInput
from cvkit.task import DatasetInfo
from cvkit_detect.records import category_ids
from cvkit_instance.metrics.evaluator import as_prediction


def rle_area(rle: dict[str, Any]) -> int:
    from pycocotools import mask as mask_utils

    return int(mask_utils.area(_bytes_rle(rle)))


def _bytes_rle(rle: dict[str, Any]) -> dict[str, Any]:
    counts = rle["counts"]
    return {"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def record(prediction: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
    p = as_prediction(prediction)
    dets = []
    for i in np.argsort(-p["scores"], kind="stable"):
        k = int(p["labels"][i])
        rle = p["masks"][i]
        dets.append({
            "label": info.classes[k] if 0 <= k < len(info.classes) else str(k), "index": k,
            "score": round(float(p["scores"][i]), 6), "box": [round(float(v), 3) for v in p["boxes"][i]],
            "area": rle_area(rle), "rle": {"size": [int(v) for v in rle["size"]], "counts": str(rle["counts"])},
        })
    return {"detections": dets}


def parse_record(rec: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
    """The prediction written by :func:`record`; ``{}`` is the empty prediction. Malformed entries raise ValueError."""
    names = {c: i for i, c in enumerate(info.classes)}
    boxes, scores, labels, masks = [], [], [], []
    dets = rec.get("detections", [])
    if not isinstance(dets, list):
        raise ValueError("'detections' is not a list")
    for j, d in enumerate(dets):
        try:
            labels.append(int(d["index"]) if "index" in d else names[d["label"]])
            box = [float(v) for v in d["box"]]
            if len(box) != 4:
                raise ValueError("box must have 4 numbers")
            boxes.append(box)
            scores.append(float(d["score"]))
            rle = d["rle"]
            masks.append({"size": [int(v) for v in rle["size"]], "counts": rle["counts"]})
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"detections[{j}]: {type(exc).__name__}: {exc}") from None
    return {"boxes": np.array(boxes, np.float64).reshape(-1, 4), "scores": np.array(scores, np.float64),
            "labels": np.array(labels, np.int64), "masks": masks}


def csv_rows(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per detection: source, label, index, score, x1, y1, x2, y2, area (the mask stays in JSONL/COCO)."""
    return [{"source": rec.get("source", ""), "label": d["label"], "index": d["index"], "score": d["score"],
             "x1": d["box"][0], "y1": d["box"][1], "x2": d["box"][2], "y2": d["box"][3], "area": d["area"]}
            for d in rec.get("detections", [])]


def coco_results(prediction: dict[str, Any], info: DatasetInfo, image_id: Any) -> list[dict[str, Any]]:
    p = as_prediction(prediction)
    cats = category_ids(info)
    return [{"image_id": image_id, "category_id": cats[int(k)],
             "bbox": [round(float(b[0]), 3), round(float(b[1]), 3), round(float(b[2] - b[0]), 3),
                      round(float(b[3] - b[1]), 3)], "score": round(float(s), 6),
             "segmentation": {"size": [int(v) for v in m["size"]], "counts": str(m["counts"])}}
            for b, s, k, m in zip(p["boxes"], p["scores"], p["labels"], p["masks"], strict=True)]


def read_coco_results(path: Path, info: DatasetInfo) -> Iterator[tuple[str, dict[str, Any]]] | None:
    """A COCO ``segm`` results list as ``(file name, prediction)`` per image; None when ``path`` is not a list.
    A result's box is its ``bbox`` when given, else the box of its mask."""
    from pycocotools import mask as mask_utils

    path = Path(path)
    if path.is_dir():
        return None
    with open(path, "rb") as fh:
        head = fh.read(64).lstrip()
    if not head.startswith(b"["):
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(path, f"malformed JSON: {exc}") from None
    index = {c: i for i, c in enumerate(category_ids(info))}
    names = {v: k for k, v in (info.extra.get("image_ids") or {}).items()}
    grouped: dict[Any, list[tuple[list[float], float, int, dict[str, Any]]]] = {}
    for j, r in enumerate(data):
        try:
            segm = r["segmentation"]
            if not (isinstance(segm, dict) and "counts" in segm and "size" in segm):
                raise ValueError("segmentation must be an RLE {size, counts}")
            if isinstance(segm["counts"], list):
                segm = mask_utils.frPyObjects(segm, *segm["size"])
            rle = {"size": [int(v) for v in segm["size"]],
                   "counts": segm["counts"].decode("ascii") if isinstance(segm["counts"], bytes) else segm["counts"]}
            x, y, w, h = (float(v) for v in (r["bbox"] if "bbox" in r else mask_utils.toBbox(_bytes_rle(rle))))
            grouped.setdefault(r["image_id"], []).append(([x, y, x + w, y + h], float(r["score"]),
                                                          index[r["category_id"]], rle))
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(path, f"bad result ({type(exc).__name__}: {exc})", where=f"[{j}]") from None

    def items() -> Iterator[tuple[str, dict[str, Any]]]:
        for image_id, dets in grouped.items():
            yield str(names.get(image_id, image_id)), {
                "boxes": np.array([d[0] for d in dets], np.float64).reshape(-1, 4),
                "scores": np.array([d[1] for d in dets], np.float64),
                "labels": np.array([d[2] for d in dets], np.int64), "masks": [d[3] for d in dets]}

    return items()
