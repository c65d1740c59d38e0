"""The detection evaluator: accumulates per-image predictions and raw targets, then scores them.

``--metric``:

- ``coco`` (default for COCO data and ``builtin:shapes``): the 12 COCOeval numbers; primary ``AP50``.
- ``voc07``: VOC AP per class with the 11-point rule, and their mean ``mAP`` (IoU >= 0.5), as the MATLAB devkit
  (``VOCevaldet.m``, ``0:0.1:1``); default for VOC years before 2010.
- ``voc``: VOC AP with the area rule (VOC2010+ devkit); default for other VOC data.
- ``voc07-strict`` / ``voc-strict``: py-faster-rcnn's ``voc_eval.py`` exactly (the numbers most Python detection
  papers report): IoU > 0.5, 11 points at ``np.arange(0, 1.1, 0.1)``, numpy's default sort of the scores.

VOC means are over the classes with at least one non-difficult ground-truth box. Detections are ranked by score with
ties in image order, then in each image's prediction order. Predictions and targets are in original image
coordinates (0-based pixel-edge boxes).

``details()`` holds per-class rows, precision-recall curves (``pr_curves``) and ``confidence_curves``: precision,
recall and F1 at IoU 0.5 of the detections scoring at least each of 101 thresholds (``cvkit visualize curves`` and
the run folder draw them as ``f1_confidence.png`` etc.; the F1 peak suggests a ``--conf``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cvkit.contract import DatasetInfo, SampleEvaluator
from cvkit.errors import UsageError
from cvkit.vision.detections import as_numpy, coco_ids, ground_truth, results_list
from cvkit.vision.evaluate import BOX_STATS, coco_evaluate, confidence_curve
from cvkit_detect.metrics.voc_ap import to_devkit, voc_eval_class

METRICS = ("coco", "voc07", "voc", "voc07-strict", "voc-strict")


def default_metric(info: DatasetInfo) -> str:
    if info.format != "voc":
        return "coco"
    year = info.extra.get("year")
    return "voc07" if year is not None and int(year) < 2010 else "voc"


class DetectionEvaluator(SampleEvaluator):
    def __init__(self, info: DatasetInfo, metric: str | None = None) -> None:
        super().__init__()
        metric = metric or default_metric(info)
        if metric not in METRICS:
            raise UsageError(f"unknown detection metric {metric!r} (choose from {', '.join(METRICS)})")
        self.info = info
        self.metric = metric
        self.primary = "AP50" if metric == "coco" else "mAP"
        self._details: dict[str, Any] = {}

    def prepare(self, prediction: Any, target: Any) -> tuple[Any, Any]:
        return as_numpy(prediction), target

    def compute(self) -> dict[str, float]:
        indices, preds, targets = self.sorted_items()
        if not indices:  # nothing was evaluated
            self._details = {"metric": self.metric, "num_images": 0}
            return {name: 0.0 for name in BOX_STATS} if self.metric == "coco" else {"mAP": 0.0}
        if self.metric == "coco":
            return self._coco(indices, preds, targets)
        return self._voc(preds, targets)

    def details(self) -> dict[str, Any]:
        return self._details

    def _coco(self, indices: list[int], preds: list, targets: list) -> dict[str, float]:
        image_ids, cat_ids = coco_ids(self.info, targets, indices)
        scores = coco_evaluate(ground_truth(targets, image_ids, self.info), results_list(preds, image_ids, cat_ids))
        self._details = {"metric": "coco", "per_class": scores.per_class(), "pr_curves": scores.pr_curves(),
                         "confidence_curves": scores.confidence_curves(), "num_images": len(indices)}
        return scores.stats

    def _voc(self, preds: list, targets: list) -> dict[str, float]:
        use_07 = self.metric.startswith("voc07")
        strict = self.metric.endswith("-strict")
        rows, curves, aps, by_conf = [], {}, [], {}
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
                by_conf[name] = confidence_curve(-np.sort(-np.concatenate(ds)), r.precision, r.recall)
            rows.append({"class": name, "index": k, "AP": r.ap if valid else None, "npos": r.npos, "ndet": r.ndet})
            step = max(1, len(r.recall) // 200)
            curves[name] = {"recall": [float(x) for x in np.nan_to_num(r.recall)[::step]],
                            "precision": [float(x) for x in r.precision[::step]], **({"ap": r.ap} if valid else {})}
        self._details = {"metric": self.metric, "per_class": rows, "pr_curves": curves, "num_images": len(preds),
                         "confidence_curves": {"confidence": [float(c) for c in np.linspace(0, 1, 101)],
                                               "classes": by_conf}}
        return {"mAP": float(np.mean(aps)) if aps else 0.0}
