"""PASCAL VOC detection average precision: the MATLAB devkit's ``VOCevaldet.m`` / ``VOCap.m`` (``voc07``, ``voc``)
and, with ``strict=True``, py-faster-rcnn's ``lib/datasets/voc_eval.py`` (``voc07-strict``, ``voc-strict``).

Per class: ``npos`` counts the non-difficult ground-truth boxes; detections are sorted by descending score (stable:
ties keep the order they were given in, like MATLAB's ``sort``); each detection takes the ground-truth box of its
image with the highest IoU among ALL of them (including boxes already matched; the first wins a tie), IoU measured
with the devkit's inclusive pixel widths ``w = x2 - x1 + 1``. If that IoU is ``>= 0.5`` (the devkit's test; pass
``strict=True`` for ``> 0.5`` as py-faster-rcnn's ``voc_eval.py``): a difficult box makes the detection neither a
true nor a false positive; a box not yet matched makes it a true positive (and is marked); an already matched box
makes it a false positive (duplicate). Otherwise it is a false positive.

AP: ``use_07=True`` is the VOC2007 11-point interpolation, the mean over ``t in 0:0.1:1`` of the highest precision
at recall ``>= t`` (0 when none); the thresholds are the doubles MATLAB's ``0:0.1:1`` produces (its fourth element is
``3 * 0.1 = 0.30000000000000004``, the others are the nearest doubles to k/10). ``voc_eval.py`` samples
``np.arange(0, 1.1, 0.1)`` instead, whose elements 3, 6 and 7 are 0.30000000000000004, 0.6000000000000001 and
0.7000000000000001: a recall of exactly 0.6 or 0.7 does not reach them there. ``use_07=False`` is VOC2010+: the area
under the precision envelope (precision made monotone from the right), summed where recall changes. Precision is
taken as 0 where no detection has been counted yet (only difficult matches so far), where MATLAB has NaN; the AP is
the same unless every detection matched a difficult box (the devkit then gives NaN, here 0).

The strict variant is ``voc_eval.py`` exactly: IoU ``> 0.5``, those thresholds, and detections ordered by numpy's
default ``argsort`` of the negated scores (not a stable sort: equal scores may be visited in another order than
submitted, as there).

Boxes here are in the devkit's coordinates (1-based inclusive ``xmin, ymin, xmax, ymax``); convert cvkit's 0-based
pixel-edge boxes with :func:`to_devkit`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# MATLAB's 0:0.1:1 (colon computes the first half as k*0.1 and the second half as 1 - (10-k)*0.1).
VOC07_THRESHOLDS = np.array([k * 0.1 if k < 5 else 1.0 - (10 - k) * 0.1 for k in range(11)])
# py-faster-rcnn's voc_eval.py: np.arange(0., 1.1, 0.1)
PY_FASTER_RCNN_THRESHOLDS = np.arange(0.0, 1.1, 0.1)


def to_devkit(boxes: np.ndarray) -> np.ndarray:
    """0-based pixel-edge ``[x1, y1, x2, y2]`` -> the devkit's 1-based inclusive ``[xmin, ymin, xmax, ymax]``."""
    b = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    b[:, :2] += 1.0
    return b


def voc_ap(rec: np.ndarray, prec: np.ndarray, use_07: bool,
           thresholds: np.ndarray = VOC07_THRESHOLDS) -> float:
    """AP from cumulative recall and precision (``VOCap.m``, or the 11-point rule at ``thresholds``)."""
    rec = np.asarray(rec, np.float64)
    prec = np.asarray(prec, np.float64)
    if use_07:
        ap = 0.0
        for t in thresholds:
            p = prec[rec >= t]
            ap += (p.max() if p.size else 0.0) / 11.0
        return float(ap)
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[0.0], prec, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.nonzero(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[i] - mrec[i - 1]) * mpre[i]))


def devkit_iou(dets: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """IoU ``(D, G)`` with inclusive widths; pairs that do not overlap (``iw <= 0`` or ``ih <= 0``) get ``-inf``."""
    d = dets[:, None, :]
    g = gts[None, :, :]
    iw = np.minimum(d[..., 2], g[..., 2]) - np.maximum(d[..., 0], g[..., 0]) + 1.0
    ih = np.minimum(d[..., 3], g[..., 3]) - np.maximum(d[..., 1], g[..., 1]) + 1.0
    inter = iw * ih
    ua = (d[..., 2] - d[..., 0] + 1.0) * (d[..., 3] - d[..., 1] + 1.0) + (g[..., 2] - g[..., 0] + 1.0) * (
        g[..., 3] - g[..., 1] + 1.0
    ) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        ov = inter / ua
    return np.where((iw > 0) & (ih > 0), ov, -np.inf)


@dataclass
class ClassResult:
    ap: float
    npos: int
    ndet: int
    recall: np.ndarray
    precision: np.ndarray


def voc_eval_class(
    gt_boxes: Sequence[np.ndarray],
    gt_difficult: Sequence[np.ndarray],
    det_image: np.ndarray,
    det_scores: np.ndarray,
    det_boxes: np.ndarray,
    iou_threshold: float = 0.5,
    use_07: bool = False,
    strict: bool = False,
) -> ClassResult:
    """AP of one class. ``gt_boxes[i]`` / ``gt_difficult[i]``: the class's boxes of image ``i`` (devkit coordinates);
    detections are given as parallel arrays (image index, score, box), in submission order."""
    npos = int(sum(int((~np.asarray(d, bool)).sum()) for d in gt_difficult))
    det_image = np.asarray(det_image, np.int64)
    nd = len(det_image)
    negated = -np.asarray(det_scores, np.float64)
    order = np.argsort(negated) if strict else np.argsort(negated, kind="stable")
    det_image = det_image[order]
    det_boxes = np.asarray(det_boxes, np.float64).reshape(-1, 4)[order]
    ovmax = np.full(nd, -np.inf)
    jmax = np.zeros(nd, np.int64)
    hit_difficult = np.zeros(nd, bool)
    for img in np.unique(det_image):
        sel = np.nonzero(det_image == img)[0]
        g = np.asarray(gt_boxes[img], np.float64).reshape(-1, 4)
        if len(g) == 0:
            continue
        ov = devkit_iou(det_boxes[sel], g)
        jmax[sel] = ov.argmax(1)  # first maximum, like the devkit's strict ``ov > ovmax`` update
        ovmax[sel] = ov[np.arange(len(sel)), jmax[sel]]
        hit_difficult[sel] = np.asarray(gt_difficult[img], bool)[jmax[sel]]
    matched = ovmax > iou_threshold if strict else ovmax >= iou_threshold
    candidate = matched & ~hit_difficult
    tp = np.zeros(nd)
    fp = (~matched).astype(np.float64)
    if candidate.any():  # the first (highest-scored) detection per ground-truth box is the true positive
        idx = np.nonzero(candidate)[0]
        keys = det_image[idx] * (1 + int(jmax.max())) + jmax[idx]
        _, first = np.unique(keys, return_index=True)
        is_first = np.zeros(len(idx), bool)
        is_first[first] = True
        tp[idx[is_first]] = 1.0
        fp[idx[~is_first]] = 1.0
    tp = np.cumsum(tp)
    fp = np.cumsum(fp)
    rec = tp / npos if npos > 0 else np.full(nd, np.nan)
    denom = tp + fp
    prec = np.divide(tp, denom, out=np.zeros(nd), where=denom > 0)
    thresholds = PY_FASTER_RCNN_THRESHOLDS if strict else VOC07_THRESHOLDS
    ap = voc_ap(rec, prec, use_07, thresholds) if npos > 0 else float("nan")
    return ClassResult(ap, npos, nd, rec, prec)
