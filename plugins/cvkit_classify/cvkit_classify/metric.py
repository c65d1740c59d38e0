"""Top-k accuracy, per-class accuracy and the confusion matrix, accumulated over a whole split."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cvkit.contract import SampleEvaluator


class ClassifyEvaluator(SampleEvaluator):  # per-sample state and merge from the core
    """Dataset-level metrics: every sample weighs the same (no mean of batch means).

    A prediction is its top-k list of class indices (best first); top-k is capped at the number of classes
    (so with 3 classes ``top5`` is top-3). ``mean_class_acc`` is the mean of per-class recalls over the classes
    present in the ground truth."""

    primary = "top1"

    def __init__(self, classes: list[str]) -> None:
        super().__init__()
        self.classes = classes
        self.k = min(5, len(classes))

    def update(self, indices: Sequence[int], predictions: Sequence[Any], targets: Sequence[Any]) -> None:
        for i, pred, label in zip(indices, predictions, targets, strict=True):
            self.items[int(i)] = (int(label), [int(c) for c, _ in pred["topk"]][: self.k])

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
        keys = sorted(self.items)
        labels = np.array([self.items[k][0] for k in keys], dtype=np.int64)
        top = [self.items[k][1] for k in keys]
        top1 = np.array([t[0] if t else -1 for t in top], dtype=np.int64)
        return labels, top1, top

    def confusion(self) -> np.ndarray:
        """C[true, predicted] counts (rows: ground truth)."""
        labels, top1, _ = self._arrays()
        n = len(self.classes)
        cm = np.zeros((n, n), dtype=np.int64)
        ok = top1 >= 0
        np.add.at(cm, (labels[ok], top1[ok]), 1)
        return cm

    def compute(self) -> dict[str, float]:
        labels, top1, top = self._arrays()
        if len(labels) == 0:
            return {"top1": 0.0, f"top{self.k}": 0.0, "mean_class_acc": 0.0}
        hit_k = np.array([lab in t[: self.k] for lab, t in zip(labels, top, strict=True)])
        cm = self.confusion()
        support = cm.sum(1)
        per_class = np.divide(np.diag(cm), support, out=np.zeros(len(support)), where=support > 0)
        out = {"top1": float((top1 == labels).mean())}
        if self.k > 1:
            out[f"top{self.k}"] = float(hit_k.mean())
        out["mean_class_acc"] = float(per_class[support > 0].mean())
        return out

    def details(self) -> dict[str, Any]:
        cm = self.confusion()
        support = cm.sum(1)
        return {
            "per_class": [
                {"index": i, "label": c, "support": int(support[i]),
                 "accuracy": float(cm[i, i] / support[i]) if support[i] else None}
                for i, c in enumerate(self.classes)
            ],
            "confusion_matrix": cm.tolist(),
        }
