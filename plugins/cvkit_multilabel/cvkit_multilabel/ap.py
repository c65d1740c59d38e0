"""Average precision of image-level labels, as the references compute it.

``voc_cls_ap`` follows the PASCAL VOC devkit's classification evaluation (``VOCevalcls.m`` with ``VOCap.m``):
images are ranked by descending confidence with a stable sort (ties keep the order of the image list, as MATLAB's
``sort``); an image with no result ranks last (confidence ``-inf``); label ``1`` is a true positive, ``-1`` a false
positive and ``0`` (only difficult objects of the class) neither; ``recall = tp / #positives`` and ``precision =
tp / (tp + fp)``, which is NaN where only ignored images have been seen so far. MATLAB's ``max`` skips NaN, and so
do both AP rules here:

- ``use_07=True`` (VOC2007): 11-point interpolation, the mean over ``t in 0:0.1:1`` of the highest precision at
  recall ``>= t`` (0 when no point reaches ``t``); the thresholds are the doubles MATLAB's ``0:0.1:1`` produces.
- ``use_07=False`` (VOC2010 and later): the area under the precision envelope (made monotone from the right),
  summed where recall changes.

A class without positive images has no AP (NaN); ``mean_ap`` leaves such classes out.

``ranking_ap`` is the non-interpolated average precision of scikit-learn's ``average_precision_score``: the sum
over distinct score thresholds of ``(R_k - R_{k-1}) * P_k``, tied scores forming one threshold. It is what
multi-label papers on MS-COCO report as mAP (macro average over classes); here difficult (label 0) images are left
out of it as they are of the VOC AP.
"""

from __future__ import annotations

import numpy as np

# MATLAB's 0:0.1:1 (colon computes the first half as k*0.1 and the second half as 1 - (10-k)*0.1).
VOC07_THRESHOLDS = np.array([k * 0.1 if k < 5 else 1.0 - (10 - k) * 0.1 for k in range(11)])


def voc_cls_pr(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative recall and precision over images ranked by score (``VOCevalcls.m``); NaN precision before the
    first counted image."""
    gt = np.asarray(labels, np.int64)
    out = np.asarray(scores, np.float64)
    out = np.where(np.isnan(out), -np.inf, out)
    order = np.argsort(-out, kind="stable")
    tp = np.cumsum(gt[order] > 0, dtype=np.float64)
    fp = np.cumsum(gt[order] < 0, dtype=np.float64)
    npos = float(np.sum(gt > 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        rec = tp / npos
        prec = tp / (fp + tp)
    return rec, prec


def voc_ap_from_pr(rec: np.ndarray, prec: np.ndarray, use_07: bool) -> float:
    """AP of a recall/precision curve: the VOC2007 11-point rule or ``VOCap.m``; NaN precisions are skipped."""
    if use_07:
        ap = 0.0
        for t in VOC07_THRESHOLDS:
            p = prec[rec >= t]
            p = p[~np.isnan(p)] if p.size else p
            if p.size == 0 and np.any(rec >= t):
                return float("nan")  # MATLAB: max of all-NaN is NaN
            ap += (p.max() if p.size else 0.0) / 11.0
        return float(ap)
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[0.0], prec, [0.0]])
    mpre = np.fmax.accumulate(mpre[::-1])[::-1]  # fmax: NaN never wins, like MATLAB's max
    i = np.nonzero(mrec[1:] != mrec[:-1])[0] + 1
    terms = (mrec[i] - mrec[i - 1]) * mpre[i]
    return float(np.cumsum(terms)[-1]) if terms.size else 0.0  # summed left to right, as MATLAB's sum


def voc_cls_ap(labels: np.ndarray, scores: np.ndarray, use_07: bool) -> float:
    """The devkit's AP of one class; ``labels`` 1 / -1 / 0 per image, ``scores`` its confidences (NaN = none)."""
    if not np.any(np.asarray(labels) > 0):
        return float("nan")
    rec, prec = voc_cls_pr(labels, scores)
    return voc_ap_from_pr(rec, prec, use_07)


def ranking_ap(labels: np.ndarray, scores: np.ndarray) -> float:
    """scikit-learn's ``average_precision_score`` of one class (difficult images, label 0, left out).

    Computed the way scikit-learn computes it (descending stable order, one point per distinct score, the sum
    taken from the lowest threshold up) so that the two agree to the last digit."""
    gt = np.asarray(labels, np.int64)
    keep = gt != 0
    y = (gt[keep] > 0).astype(np.float64)
    s = np.asarray(scores, np.float64)[keep]
    s = np.where(np.isnan(s), -np.inf, s)
    if not np.any(y > 0):
        return float("nan")
    order = np.argsort(s, kind="mergesort")[::-1]
    s, y = s[order], y[order]
    last = np.r_[np.nonzero(np.diff(s))[0], y.size - 1]
    tps = np.cumsum(y)[last]
    fps = 1 + last - tps
    prec = tps / (tps + fps)
    rec = tps / tps[-1]
    terms = (rec - np.r_[0.0, rec[:-1]]) * prec
    return float(np.sum(terms[::-1]))


def mean_ap(aps: np.ndarray) -> float:
    """Mean over the classes that have an AP (at least one positive image); NaN when none has."""
    aps = np.asarray(aps, np.float64)
    valid = aps[~np.isnan(aps)]
    return float(valid.mean()) if valid.size else float("nan")


def best_thresholds(labels: np.ndarray, scores: np.ndarray, default: float = 0.5) -> np.ndarray:
    """Per class, the score threshold (``score >= t`` is positive) that maximises F1 on these images.

    ``labels`` and ``scores`` are ``(N, C)``; difficult entries (0) are left out. Candidates are the midpoints
    between consecutive distinct scores (and a point above the highest score); the first best one wins, so the
    threshold sits halfway between the last accepted and the first rejected score. A class without positives keeps
    ``default``."""
    labels, scores = np.asarray(labels), np.asarray(scores, np.float64)
    out = np.full(labels.shape[1], default, np.float64)
    for c in range(labels.shape[1]):
        keep = (labels[:, c] != 0) & np.isfinite(scores[:, c])
        y, s = labels[keep, c] > 0, scores[keep, c]
        if not y.any():
            continue
        order = np.argsort(-s, kind="stable")
        s, y = s[order], y[order]
        last = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]  # accept everything up to and including index
        tp = np.cumsum(y)[last]
        f1 = 2 * tp / (last + 1 + y.sum())
        k = int(np.argmax(f1))
        nxt = s[last[k] + 1] if last[k] + 1 < s.size else s[last[k]] - 1.0
        out[c] = (s[last[k]] + nxt) / 2.0
    return out


def f1_scores(labels: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-class F1 of boolean ``predicted`` against labels (difficult entries left out; NaN for a class with
    neither a positive nor a prediction) and the micro F1 over all counted entries."""
    labels, predicted = np.asarray(labels), np.asarray(predicted, bool)
    counted = labels != 0
    pos = labels > 0
    tp = np.sum(pos & predicted & counted, axis=0).astype(np.float64)
    fp = np.sum(~pos & predicted & counted, axis=0).astype(np.float64)
    fn = np.sum(pos & ~predicted & counted, axis=0).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_class = 2 * tp / (2 * tp + fp + fn)
        micro = 2 * tp.sum() / (2 * tp.sum() + fp.sum() + fn.sum())
    return per_class, float(micro)


def exact_match(labels: np.ndarray, predicted: np.ndarray) -> float:
    """Fraction of images whose predicted label set equals the true one (difficult entries left out)."""
    labels, predicted = np.asarray(labels), np.asarray(predicted, bool)
    if labels.shape[0] == 0:
        return float("nan")
    ok = (labels == 0) | ((labels > 0) == predicted)
    return float(np.mean(np.all(ok, axis=1)))
