"""The segmentation evaluator: accumulates one confusion matrix over the split, then scores it.

Predictions are ``{"labels": (H, W) class indices}`` in original pixels; a missing prediction (``{"labels": None}``,
an image the predictions file has no record for) counts as background everywhere. Targets are raw targets
(:mod:`cvkit_segment.datasets.target`), decoded here. The primary metric is ``mIoU``; ``details()`` holds the
confusion matrix (for ``cvkit visualize confusion``) and per-class IoU, accuracy and pixel counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from cvkit.contract import DatasetInfo, Evaluator
from cvkit.errors import BadInput
from cvkit_segment.datasets.target import label_file, load_label
from cvkit_segment.metrics.confusion import confusion, scores


def as_labels(prediction: Any) -> np.ndarray | None:
    labels = prediction.get("labels") if isinstance(prediction, dict) else prediction
    if labels is None:
        return None
    if hasattr(labels, "detach"):
        labels = labels.detach().cpu().numpy()
    return np.asarray(labels)


class SegmentationEvaluator(Evaluator):
    primary = "mIoU"

    def __init__(self, info: DatasetInfo, metric: str | None = None) -> None:
        self.info = info
        self.n = len(info.classes)
        self.matrix = np.zeros((self.n, self.n), np.int64)
        self.images = 0
        self._per_class: list[dict[str, Any]] = []

    def update(self, indices: Sequence[int], predictions: Sequence[Any], targets: Sequence[Any]) -> None:
        for i, p, t in zip(indices, predictions, targets, strict=True):
            gt = load_label(t, self.n, self.info.extra.get("colours"))
            pred = as_labels(p)
            if pred is None:
                pred = np.zeros_like(gt)
            if pred.shape != gt.shape:
                raise BadInput(label_file(t), f"prediction of sample {i} is {pred.shape[-1]}x{pred.shape[0]}, its "
                               f"annotation {gt.shape[1]}x{gt.shape[0]}")
            try:
                self.matrix += confusion(gt, pred, self.n)
            except ValueError as exc:
                raise BadInput(label_file(t), f"sample {i}: {exc}") from None
            self.images += 1

    def state(self) -> Any:
        return {"matrix": self.matrix, "images": self.images}

    def merge(self, states: Iterable[Any]) -> None:
        """Ranks evaluate disjoint samples: their matrices add up."""
        self.matrix = np.zeros((self.n, self.n), np.int64)
        self.images = 0
        for s in states:
            self.matrix += np.asarray(s["matrix"], np.int64)
            self.images += int(s["images"])

    def compute(self) -> dict[str, float]:
        metrics, iou, acc = scores(self.matrix)
        gt, pred = self.matrix.sum(1), self.matrix.sum(0)
        self._per_class = [
            {"class": c, "index": k, "IoU": None if np.isnan(iou[k]) else float(iou[k]),
             "acc": None if np.isnan(acc[k]) else float(acc[k]), "gt_pixels": int(gt[k]), "pred_pixels": int(pred[k])}
            for k, c in enumerate(self.info.classes)
        ]
        return metrics

    def details(self) -> dict[str, Any]:
        return {"classes": list(self.info.classes), "confusion_matrix": self.matrix.tolist(),
                "per_class": self._per_class, "num_images": self.images}
