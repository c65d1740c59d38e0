"""Video classification metrics (Karpathy et al., CVPR 2014), accumulated over a whole split.

- ``clip_hit1``: every clip scored alone; a hit when its top class is any of the video's labels. Averaged over
  all clips of all videos (a video without a prediction counts as one missed clip).
- ``video_hit1`` / ``video_hit5``: the video's scores (mean of its clips' probabilities) ranked; a hit when any
  ground-truth label is among the top k. k is capped at the number of classes (``video_hit3`` with 3 classes).
- ``mAP``: multi-label mean average precision over the classes that have at least one positive video. AP is the
  step-wise area of scikit-learn's ``average_precision_score``: sum over distinct score thresholds of
  (recall step) x precision, ties counted together; classes absent from the ground truth are left out.

Scores are rounded to 6 decimals on the way in, as in predict's JSONL records, so that ``eval --predictions``
on predict's output gives exactly the numbers ``eval --weights`` gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cvkit.contract import SampleEvaluator

CONFUSION_MAX_CLASSES = 64


def average_precision(y_true: np.ndarray, scores: np.ndarray) -> float:
    """AP of one class (binary ``y_true``), as scikit-learn computes it; NaN without positives."""
    positives = int(y_true.sum())
    if positives == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], y_true[order]
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # last index of each group of tied scores
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / positives
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def hit_at_k(labels: Sequence[int], ranked: Sequence[int], k: int) -> bool:
    return any(c in labels for c in ranked[:k])


class VideoEvaluator(SampleEvaluator):  # per-sample state and merge from the core
    primary = "video_hit1"

    def __init__(self, classes: list[str]) -> None:
        super().__init__()
        self.classes = classes
        self.k = min(5, len(classes))
        # per video: labels, class scores, ranked top-k classes, top class of each clip

    def _scores(self, pred: dict[str, Any]) -> np.ndarray:
        scores = np.zeros(len(self.classes), np.float64)
        if pred.get("scores") is not None:
            scores[:] = np.asarray(pred["scores"], np.float64)
        else:  # only the top-k were recorded: the other classes score 0
            for c, s in pred.get("topk", []):
                scores[int(c)] = float(s)
        return np.round(scores, 6)

    def update(self, indices: Sequence[int], predictions: Sequence[Any], targets: Sequence[Any]) -> None:
        for i, pred, labels in zip(indices, predictions, targets, strict=True):
            clip_top = [int(c["topk"][0][0]) if c.get("topk") else -1 for c in pred.get("clips", [])]
            ranked = [int(c) for c, _ in pred.get("topk", [])][: self.k]
            self.items[int(i)] = ([int(lab) for lab in labels], self._scores(pred), ranked, clip_top)

    def _arrays(self) -> tuple[list[list[int]], np.ndarray, np.ndarray]:
        """Labels, scores ``(videos, classes)`` and the binary label matrix, in dataset order."""
        keys = sorted(self.items)
        labels = [self.items[k][0] for k in keys]
        scores = np.stack([self.items[k][1] for k in keys]) if keys else np.zeros((0, len(self.classes)))
        y = np.zeros_like(scores, dtype=np.int64)
        for r, labs in enumerate(labels):
            y[r, labs] = 1
        return labels, scores, y

    def per_class_ap(self) -> np.ndarray:
        _, scores, y = self._arrays()
        return np.array([average_precision(y[:, c], scores[:, c]) for c in range(len(self.classes))])

    def compute(self) -> dict[str, float]:
        keys = sorted(self.items)
        out = {"clip_hit1": 0.0, "video_hit1": 0.0, f"video_hit{self.k}": 0.0, "mAP": 0.0}
        if not keys:
            return out
        labels = [self.items[k][0] for k in keys]
        ranked = [self.items[k][2] for k in keys]
        clips = [(c in self.items[k][0]) for k in keys for c in (self.items[k][3] or [-1])]
        out["clip_hit1"] = float(np.mean(clips))
        out["video_hit1"] = float(np.mean([hit_at_k(labs, r, 1) for labs, r in zip(labels, ranked, strict=True)]))
        out[f"video_hit{self.k}"] = float(np.mean([hit_at_k(labs, r, self.k)
                                                   for labs, r in zip(labels, ranked, strict=True)]))
        ap = self.per_class_ap()
        out["mAP"] = float(np.nanmean(ap)) if np.isfinite(ap).any() else 0.0
        return out

    def details(self) -> dict[str, Any]:
        """Per class: support (videos with the label), AP, and recall@1 (share of those videos whose top class
        is this one); the confusion matrix of top class vs. first label for up to 64 classes."""
        labels, _, y = self._arrays()
        if not labels:
            return {"per_class": []}
        top1 = np.array([r[2][0] if r[2] else -1 for _, r in sorted(self.items.items())])
        ap = self.per_class_ap()
        support = y.sum(0)
        rows = []
        for c, name in enumerate(self.classes):
            mine = y[:, c] == 1
            rows.append({"index": c, "label": name, "support": int(support[c]),
                         "ap": None if np.isnan(ap[c]) else float(ap[c]),
                         "recall1": float((top1[mine] == c).mean()) if support[c] else None})
        out: dict[str, Any] = {"per_class": rows}
        n = len(self.classes)
        if n <= CONFUSION_MAX_CLASSES:
            cm = np.zeros((n, n), np.int64)
            ok = top1 >= 0
            np.add.at(cm, (np.array([labs[0] for labs in labels])[ok], top1[ok]), 1)
            out["confusion_matrix"] = cm.tolist()
        return out
