"""Prediction records (JSONL), CSV rows, COCO keypoint results, and reading a COCO results file back.

A prediction is ``{"keypoints": (P, K, 3) [x, y, score], "boxes": (P, 4) [x1, y1, x2, y2], "scores": (P,)}`` in
original-image 0-based pixels (numpy), optionally with ``match`` (the annotated person each row was cropped from,
used by the evaluator; never written).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.contract import DatasetInfo
from cvkit.errors import BadInput
from cvkit_pose.metrics.evaluator import empty_prediction


def record(prediction: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
    """``{"people": [{"keypoints": [[x, y, score]] * K, "box": [x1, y1, x2, y2], "score"}]}``, best first."""
    order = np.argsort(-np.asarray(prediction["scores"]), kind="stable")
    people = []
    for i in order:
        kp = np.asarray(prediction["keypoints"][i], np.float64)
        people.append({"keypoints": [[round(float(x), 3), round(float(y), 3), round(float(s), 4)] for x, y, s in kp],
                       "box": [round(float(v), 3) for v in prediction["boxes"][i]],
                       "score": round(float(prediction["scores"][i]), 6)})
    return {"people": people}


def parse_record(rec: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
    """The prediction written by :func:`record`; ``{}`` is the empty prediction. Raises ValueError naming the
    faulty entry."""
    k = len(info.classes)
    people = rec.get("people", [])
    if not isinstance(people, list):
        raise ValueError("'people' is not a list")
    if not people:
        return empty_prediction(k)
    kps, boxes, scores = [], [], []
    for j, p in enumerate(people):
        try:
            kp = np.asarray(p["keypoints"], np.float64)
            if kp.shape != (k, 3):
                raise ValueError(f"expected {k} [x, y, score] triples, got shape {list(kp.shape)}")
            box = np.asarray(p.get("box", [0, 0, 0, 0]), np.float64).reshape(4)
            kps.append(kp)
            boxes.append(box)
            scores.append(float(p.get("score", kp[:, 2].mean())))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"people[{j}]: {type(exc).__name__}: {exc}") from None
    return {"keypoints": np.stack(kps), "boxes": np.stack(boxes), "scores": np.array(scores)}


def csv_rows(rec: dict[str, Any], names: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per person: source, person, score, box, then ``<name>_x, <name>_y, <name>_score`` per keypoint."""
    rows = []
    for n, p in enumerate(rec.get("people", [])):
        row: dict[str, Any] = {"source": rec.get("source", ""), "person": n, "score": p["score"],
                               "x1": p["box"][0], "y1": p["box"][1], "x2": p["box"][2], "y2": p["box"][3]}
        for k, (x, y, s) in enumerate(p["keypoints"]):
            name = names[k] if names and k < len(names) else f"k{k}"
            row.update({f"{name}_x": x, f"{name}_y": y, f"{name}_score": s})
        rows.append(row)
    return rows


def coco_results(prediction: dict[str, Any], info: DatasetInfo, image_id: Any) -> list[dict[str, Any]]:
    """COCO keypoint results: ``keypoints`` ``[x, y, score] * K`` (pycocotools ignores the third number)."""
    cat = int(info.extra.get("category_id", 1))
    return [{"image_id": image_id, "category_id": cat,
             "keypoints": [round(float(v), 3) for v in np.asarray(kp, np.float64).ravel()],
             "score": round(float(s), 6)}
            for kp, s in zip(prediction["keypoints"], prediction["scores"], strict=True)]


def read_coco_results(path: Path, info: DatasetInfo) -> Iterator[tuple[str, dict[str, Any]]] | None:
    """A COCO keypoint results list as ``(file name, prediction)`` per image, in file order; None when ``path``
    is not a JSON list. Image ids are turned back into the dataset's file names."""
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(64).lstrip()
    if not head.startswith(b"["):
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(path, f"malformed JSON: {exc}") from None
    k = len(info.classes)
    cat = int(info.extra.get("category_id", 1))
    names = {v: n for n, v in (info.extra.get("image_ids") or {}).items()}
    grouped: dict[Any, list[tuple[np.ndarray, float]]] = {}
    for j, r in enumerate(data):
        try:
            if r.get("category_id", cat) != cat:
                continue
            kp = np.asarray(r["keypoints"], np.float64)
            if kp.size != 3 * k:
                raise ValueError(f"expected {3 * k} keypoint numbers, got {kp.size}")
            grouped.setdefault(r["image_id"], []).append((kp.reshape(k, 3), float(r["score"])))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise BadInput(path, f"bad keypoint result ({type(exc).__name__}: {exc})", where=f"[{j}]") from None

    def items() -> Iterator[tuple[str, dict[str, Any]]]:
        for image_id, people in grouped.items():
            kps = np.stack([p[0] for p in people])
            boxes = np.concatenate([kps[..., :2].min(1), kps[..., :2].max(1)], 1)
            yield str(names.get(image_id, image_id)), {"keypoints": kps, "boxes": boxes,
                                                       "scores": np.array([p[1] for p in people])}

    return items()
