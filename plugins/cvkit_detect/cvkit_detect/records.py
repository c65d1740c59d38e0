"""Prediction records (JSONL), CSV rows, COCO results, and reading a COCO results file back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.errors import BadInput
from cvkit.task import DatasetInfo
from cvkit_detect.metrics.evaluator import as_numpy


def record(prediction: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
    """``{"detections": [{"label", "index", "score", "box": [x1, y1, x2, y2]}]}``, best first, 0-based pixels."""
    p = as_numpy(prediction)
    order = np.argsort(-p["scores"], kind="stable")
    dets = []
    for i in order:
        k = int(p["labels"][i])
        dets.append({
            "label": info.classes[k] if 0 <= k < len(info.classes) else str(k), "index": k,
            "score": round(float(p["scores"][i]), 6), "box": [round(float(v), 3) for v in p["boxes"][i]],
        })
    return {"detections": dets}


def parse_record(rec: dict[str, Any], info: DatasetInfo) -> dict[str, np.ndarray]:
    """The prediction written by :func:`record` (class index from ``index``, else from ``label``); a record
    without ``detections`` (``{}``) is the empty prediction. Malformed entries raise ValueError naming them."""
    names = {c: i for i, c in enumerate(info.classes)}
    boxes, scores, labels = [], [], []
    dets = rec.get("detections", [])
    if not isinstance(dets, list):
        raise ValueError("'detections' is not a list")
    for j, d in enumerate(dets):
        try:
            k = int(d["index"]) if "index" in d else names[d["label"]]
            box = [float(v) for v in d["box"]]
            if len(box) != 4:
                raise ValueError("box must have 4 numbers")
            boxes.append(box)
            scores.append(float(d["score"]))
            labels.append(k)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"detections[{j}]: {type(exc).__name__}: {exc}") from None
    return {"boxes": np.array(boxes, np.float64).reshape(-1, 4), "scores": np.array(scores, np.float64),
            "labels": np.array(labels, np.int64)}


def csv_rows(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per detection: source, label, index, score, x1, y1, x2, y2."""
    return [{"source": rec.get("source", ""), "label": d["label"], "index": d["index"], "score": d["score"],
             "x1": d["box"][0], "y1": d["box"][1], "x2": d["box"][2], "y2": d["box"][3]}
            for d in rec.get("detections", [])]


def category_ids(info: DatasetInfo) -> list[int]:
    return [int(c) for c in info.extra.get("category_ids") or range(1, len(info.classes) + 1)]


def image_id_for(source: str, info: DatasetInfo) -> Any:
    """The COCO image id of ``source``: the dataset's (by file name), else a numeric file stem, else the name."""
    name = Path(source).name
    ids = info.extra.get("image_ids") or {}
    if name in ids:
        return ids[name]
    stem = Path(source).stem
    return int(stem) if stem.isdigit() else stem


def coco_results(prediction: dict[str, Any], info: DatasetInfo, image_id: Any) -> list[dict[str, Any]]:
    p = as_numpy(prediction)
    cats = category_ids(info)
    return [{"image_id": image_id, "category_id": cats[int(k)],
             "bbox": [round(float(b[0]), 3), round(float(b[1]), 3), round(float(b[2] - b[0]), 3),
                      round(float(b[3] - b[1]), 3)], "score": round(float(s), 6)}
            for b, s, k in zip(p["boxes"], p["scores"], p["labels"], strict=True)]


def read_coco_results(path: Path, info: DatasetInfo) -> Iterator[tuple[str, dict[str, np.ndarray]]] | None:
    """A COCO results list as ``(file name, prediction)`` per image; None when ``path`` is not such a list."""
    path = Path(path)
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
    grouped: dict[Any, list[tuple[list[float], float, int]]] = {}
    for j, r in enumerate(data):
        try:
            x, y, w, h = (float(v) for v in r["bbox"])
            k = index[r["category_id"]]
            grouped.setdefault(r["image_id"], []).append(([x, y, x + w, y + h], float(r["score"]), k))
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(path, f"bad result ({type(exc).__name__}: {exc})", where=f"[{j}]") from None

    def items() -> Iterator[tuple[str, dict[str, np.ndarray]]]:
        for image_id, dets in grouped.items():
            yield str(names.get(image_id, image_id)), {
                "boxes": np.array([d[0] for d in dets], np.float64).reshape(-1, 4),
                "scores": np.array([d[1] for d in dets], np.float64),
                "labels": np.array([d[2] for d in dets], np.int64),
            }

    return items()
