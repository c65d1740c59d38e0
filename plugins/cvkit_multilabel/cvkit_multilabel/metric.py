"""The multi-label evaluator: per-class AP and mAP as the VOC devkit computes them, ranking mAP, F1, exact match.

Metrics (``compute``):

- ``mAP``: mean over classes with a positive image of the VOC devkit's classification AP (``VOCevalcls.m``),
  difficult images (label 0) ignored. ``--metric voc07`` uses the 11-point rule, ``--metric voc`` the area
  (VOC2010+); the default is 11-point for a VOC year before 2010 and the area otherwise.
- ``mAP_ranking``: the "COCO-style" multi-label mAP of the literature: the macro mean over classes of
  scikit-learn's ``average_precision_score`` (non-interpolated, ties as one threshold), difficult images left out.
- ``f1``/``f1_micro``: macro and micro F1 of the labels in the predictions, i.e. at the per-class thresholds the
  model applied (tuned on the validation split during training and stored in the checkpoint).
- ``f1_tuned``: macro F1 at thresholds tuned on this very split (an optimistic bound; the thresholds are in
  ``details()["tuned_thresholds"]`` and are what training stores).
- ``exact_match``: fraction of images whose predicted label set is exactly the true one.

Predictions are ``{"scores": array of C floats or None, "labels": [class indices over threshold]}``; targets are
lists of C values 1 (present) / -1 (absent) / 0 (difficult). Images are ranked in dataset order on ties, as the
devkit ranks them in the order of its image list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from cvkit.contract import Evaluator
from cvkit.errors import UsageError
from cvkit_multilabel.ap import best_thresholds, exact_match, f1_scores, mean_ap, ranking_ap, voc_cls_ap

METRICS = ("voc07", "voc")


def default_metric(year: Any) -> str:
    """VOC years before 2010 were scored with the 11-point rule; everything else with the area."""
    try:
        return "voc07" if int(str(year)[:4]) < 2010 else "voc"
    except (TypeError, ValueError):
        return "voc"


class MultiLabelEvaluator(Evaluator):
    primary = "mAP"

    def __init__(self, classes: list[str], metric: str = "voc",
                 on_tuned: Callable[[np.ndarray], None] | None = None) -> None:
        if metric not in METRICS:
            raise UsageError(f"--metric {metric!r}: expected one of {', '.join(METRICS)}")
        self.classes, self.metric, self.on_tuned = list(classes), metric, on_tuned
        self.items: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._details: dict[str, Any] = {}

    def update(self, indices: Sequence[int], predictions: Sequence[Any], targets: Sequence[Any]) -> None:
        c = len(self.classes)
        for i, pred, target in zip(indices, predictions, targets, strict=True):
            scores = pred.get("scores")
            s = np.full(c, np.nan) if scores is None else np.asarray(scores, np.float64)
            chosen = np.zeros(c, bool)
            chosen[list(pred.get("labels", []))] = True
            self.items[int(i)] = (s, chosen, np.asarray(target, np.int64))

    def state(self) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return self.items

    def merge(self, states: Iterable[dict[int, Any]]) -> None:
        self.items = {}
        for s in states:
            self.items.update(s)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(labels, scores, predicted)`` as ``(N, C)`` arrays in dataset order."""
        c = len(self.classes)
        keys = sorted(self.items)
        if not keys:
            return np.zeros((0, c), np.int64), np.zeros((0, c)), np.zeros((0, c), bool)
        scores = np.stack([self.items[k][0] for k in keys])
        predicted = np.stack([self.items[k][1] for k in keys])
        labels = np.stack([self.items[k][2] for k in keys])
        return labels, scores, predicted

    def compute(self) -> dict[str, float]:
        labels, scores, predicted = self.arrays()
        use_07 = self.metric == "voc07"
        aps = np.array([voc_cls_ap(labels[:, c], scores[:, c], use_07) for c in range(len(self.classes))])
        ranking = np.array([ranking_ap(labels[:, c], scores[:, c]) for c in range(len(self.classes))])
        per_class_f1, micro = f1_scores(labels, predicted)
        tuned = best_thresholds(labels, np.nan_to_num(scores, nan=-np.inf))
        tuned_f1, _ = f1_scores(labels, scores >= tuned)
        self._details = {
            "ap_rule": "11-point (VOC2007)" if use_07 else "area (VOC2010+)",
            "per_class": {name: {"ap": _num(aps[c]), "ap_ranking": _num(ranking[c]), "f1": _num(per_class_f1[c]),
                                 "positives": int(np.sum(labels[:, c] > 0)),
                                 "difficult": int(np.sum(labels[:, c] == 0))}
                          for c, name in enumerate(self.classes)},
            "tuned_thresholds": [float(t) for t in tuned],
        }
        if self.on_tuned is not None and len(labels):
            self.on_tuned(tuned)
        return {
            "mAP": mean_ap(aps),
            "mAP_ranking": mean_ap(ranking),
            "f1": _nanmean(per_class_f1),
            "f1_micro": micro,
            "f1_tuned": _nanmean(tuned_f1),
            "exact_match": exact_match(labels, predicted),
        }

    def details(self) -> dict[str, Any]:
        return self._details


def _nanmean(x: np.ndarray) -> float:
    x = x[~np.isnan(x)]
    return float(x.mean()) if x.size else float("nan")


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)
