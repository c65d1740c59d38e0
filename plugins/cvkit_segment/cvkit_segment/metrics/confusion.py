"""Semantic-segmentation scores from ONE confusion matrix accumulated over every pixel of the dataset.

``C[g, p]`` counts the pixels of ground-truth class ``g`` predicted as ``p``; pixels whose ground truth is 255 (void)
are left out, whatever was predicted there. From it (as mmseg's ``IoUMetric`` and the VOC devkit's ``VOCevalseg.m``):

- ``IoU_c = C_cc / (row_c + col_c - C_cc)``: undefined (NaN) for a class absent from both the ground truth and the
  predictions, 0 for a class predicted but absent from the ground truth;
- ``mIoU``: mean of the defined IoUs (NaN-mean), so absent classes are left out;
- ``pixel_acc = trace / total``; ``acc_c = C_cc / row_c`` (NaN when the class has no ground-truth pixel) and
  ``mean_acc``, their NaN-mean (scikit-learn's ``balanced_accuracy_score`` on the same pixels);
- ``fwIoU``: IoUs weighted by ground-truth frequency.

The scores of the whole dataset are not the mean of per-image scores.
"""

from __future__ import annotations

import numpy as np

from cvkit_segment.palette import VOID


def confusion(gt: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """The ``(C, C)`` int64 confusion matrix of one label map (``gt == 255`` ignored).

    ``pred`` must hold class indices ``0..C-1`` wherever ``gt`` is not void."""
    valid = gt != VOID
    g = gt[valid].astype(np.int64)
    p = pred[valid].astype(np.int64)
    if p.size and (p.min() < 0 or p.max() >= num_classes):
        bad = int(p[(p < 0) | (p >= num_classes)][0])
        raise ValueError(f"predicted value {bad} is not a class index (0..{num_classes - 1})")
    if g.size and g.max() >= num_classes:
        raise ValueError(f"ground-truth value {int(g.max())} is not a class index (0..{num_classes - 1}) or 255")
    return np.bincount(g * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def scores(matrix: np.ndarray) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """``({"mIoU", "pixel_acc", "mean_acc", "fwIoU"}, per-class IoU, per-class accuracy)`` (NaN: undefined)."""
    m = np.asarray(matrix, np.float64)
    tp = np.diag(m)
    gt = m.sum(1)
    pred = m.sum(0)
    union = gt + pred - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
        acc = np.where(gt > 0, tp / gt, np.nan)
    total = m.sum()
    if total == 0:
        return {"mIoU": 0.0, "pixel_acc": 0.0, "mean_acc": 0.0, "fwIoU": 0.0}, iou, acc
    defined = ~np.isnan(iou)
    freq = gt / total
    return {
        "mIoU": float(np.mean(iou[defined])) if defined.any() else 0.0,
        "pixel_acc": float(tp.sum() / total),
        "mean_acc": float(np.nanmean(acc)) if (~np.isnan(acc)).any() else 0.0,
        "fwIoU": float(np.sum(freq[defined] * iou[defined])),
    }, iou, acc
