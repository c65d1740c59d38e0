"""The detection evaluator: accumulates per-image predictions and raw targets, then scores them.

``--metric``:

- ``coco`` (default for COCO data and ``builtin:shapes``): the 12 COCOeval numbers; primary ``AP50``.
- ``voc07``: VOC AP per class with the 11-point rule, and their mean ``mAP`` (IoU >= 0.5); default for VOC years
  before 2010.
- ``voc``: VOC AP with the area rule (VOC2010+); default for other VOC data.
- ``voc07-strict`` / ``voc-strict``: the same with IoU > 0.5, as py-faster-rcnn's ``voc_eval.py``.

VOC means are over the classes with at least one non-difficult ground-truth box. Detections are ranked by score with
ties in image order, then in each image's prediction order. Predictions and targets are in original image
coordinates (0-based pixel-edge boxes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from cvkit.errors import UsageError
from cvkit.task import DatasetInfo, Evaluator
from cvkit_detect.metrics.coco_eval import (
    STAT_NAMES,
    coco_evaluate,
    gt_dataset,
    per_class,
    pr_curves,
    results_list,
)
from cvkit_detect.metrics.voc_ap import to_devkit, voc_eval_class

METRICS = ("coco", "voc07", "voc", "voc07-strict", "voc-strict")


def default_metric(info: DatasetInfo) -> str:
    if info.format != "voc":
        return "coco"
    year = info.extra.get("year")
    return "voc07" if year is not None and int(year) < 2010 else "voc"


def as_numpy(prediction: dict[str, Any]) -> dict[str, np.ndarray]:
    """``{"boxes", "scores", "labels"}`` (tensors or arrays) as float64/int64 numpy arrays."""

    def arr(v: Any, dtype: Any) -> np.ndarray:
        if hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        return np.asarray(v, dtype=dtype)

    return {
        "boxes": arr(prediction["boxes"], np.float64).reshape(-1, 4),
        "scores": arr(prediction["scores"], np.float64).reshape(-1),
        "labels": arr(prediction["labels"], np.int64).reshape(-1),
    }


def coco_ids(info: DatasetInfo, targets: Sequence[dict[str, Any]], indices: Sequence[int]) -> tuple[list, list]:
    """Image ids (the dataset's when they are ints, else index + 1) and category ids (the dataset's, else 1..C)."""
    ids = [t.get("image_id") for t in targets]
    if not all(isinstance(i, (int, np.integer)) for i in ids) or len(set(ids)) != len(ids):
        ids = [int(i) + 1 for i in indices]
    cats = info.extra.get("category_ids") or list(range(1, len(info.classes) + 1))
    return [int(i) for i in ids], [int(c) for c in cats]


class DetectionEvaluator(Evaluator):
    def __init__(self, info: DatasetInfo, metric: str | None = None) -> None:
        metric = metric or default_metric(info)
        if metric not in METRICS:
            raise UsageError(f"unknown detection metric {metric!r} (choose from {', '.join(METRICS)})")
        self.info = info
        self.metric = metric
        self.primary = "AP50" if metric == "coco" else "mAP"
        self.items: dict[int, tuple[dict[str, np.ndarray], dict[str, Any]]] = {}
        self._details: dict[str, Any] = {}

    def update(self, indices: Sequence[int], predictions: Sequence[Any], targets: Sequence[Any]) -> None:
        for i, p, t in zip(indices, predictions, targets, strict=True):
            self.items[int(i)] = (as_numpy(p), t)

    def state(self) -> Any:
        return self.items

    def merge(self, states: Iterable[Any]) -> None:
        merged: dict[int, Any] = {}
        for s in states:
            merged.update(s)
        self.items = merged

    def compute(self) -> dict[str, float]:
        indices = sorted(self.items)
        preds = [self.items[i][0] for i in indices]
        targets = [self.items[i][1] for i in indices]
        if not indices:  # nothing was evaluated
            self._details = {"metric": self.metric, "num_images": 0}
            return {name: 0.0 for name in STAT_NAMES} if self.metric == "coco" else {"mAP": 0.0}
        if self.metric == "coco":
            return self._coco(indices, preds, targets)
        return self._voc(preds, targets)

    def details(self) -> dict[str, Any]:
        return self._details

    def _coco(self, indices: list[int], preds: list, targets: list) -> dict[str, float]:
        image_ids, cat_ids = coco_ids(self.info, targets, indices)
        gt = gt_dataset(targets, image_ids, cat_ids, self.info.classes)
        stats, ev = coco_evaluate(gt, results_list(preds, image_ids, cat_ids))
        self._details = {"metric": "coco", "per_class": per_class(ev, self.info.classes),
                         "pr_curves": pr_curves(ev, self.info.classes), "num_images": len(indices)}
        return stats

    def _voc(self, preds: list, targets: list) -> dict[str, float]:
        use_07 = self.metric.startswith("voc07")
        strict = self.metric.endswith("-strict")
        rows, curves, aps = [], {}, []
        for k, name in enumerate(self.info.classes):
            gb, gd = [], []
            for t in targets:
                m = np.asarray(t["labels"]) == k
                gb.append(to_devkit(np.asarray(t["boxes"])[m]))
                gd.append(np.asarray(t["difficult"], bool)[m] | np.asarray(t["iscrowd"], bool)[m])
            di, ds, db = [], [], []
            for img, p in enumerate(preds):
                m = p["labels"] == k
                di.append(np.full(int(m.sum()), img))
                ds.append(p["scores"][m])
                db.append(to_devkit(p["boxes"][m]))
            r = voc_eval_class(gb, gd, np.concatenate(di), np.concatenate(ds), np.concatenate(db),
                               use_07=use_07, strict=strict)
            valid = r.npos > 0
            if valid:
                aps.append(r.ap)
            rows.append({"class": name, "index": k, "AP": r.ap if valid else None, "npos": r.npos, "ndet": r.ndet})
            step = max(1, len(r.recall) // 200)
            curves[name] = {"recall": [float(x) for x in np.nan_to_num(r.recall)[::step]],
                            "precision": [float(x) for x in r.precision[::step]], **({"ap": r.ap} if valid else {})}
        self._details = {"metric": self.metric, "per_class": rows, "pr_curves": curves, "num_images": len(preds)}
        return {"mAP": float(np.mean(aps)) if aps else 0.0}
