"""Multi-label AP against a line-by-line transcription of the VOC devkit's VOCevalcls.m / VOCap.m, and against
scikit-learn's average_precision_score."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score

from cvkit_multilabel.ap import best_thresholds, exact_match, f1_scores, ranking_ap, voc_cls_ap
from cvkit_multilabel.metric import MultiLabelEvaluator


def _matlab_max(values: list[float]) -> float | None:
    """MATLAB's max: NaN entries are skipped; all-NaN gives NaN; empty gives [] (None)."""
    if not values:
        return None
    finite = [v for v in values if not math.isnan(v)]
    return max(finite) if finite else float("nan")


def devkit_cls_ap(gt: list[int], confidence: list[float | None], voc2007: bool) -> float:
    """VOCevalcls.m transcribed with plain loops: out = -inf for images without a result; [so, si] = sort(-out)
    (stable); tp = gt(si) > 0; fp = gt(si) < 0; cumsum; rec = tp / sum(gt > 0); prec = tp ./ (fp + tp)."""
    n = len(gt)
    out = [-math.inf if c is None else c for c in confidence]
    si = sorted(range(n), key=lambda i: -out[i])  # Python's sort is stable, like MATLAB's
    tp, fp, rec, prec = 0.0, 0.0, [], []
    npos = sum(1 for g in gt if g > 0)
    for i in si:
        tp += gt[i] > 0
        fp += gt[i] < 0
        rec.append(tp / npos)
        prec.append(tp / (fp + tp) if fp + tp else float("nan"))
    if voc2007:
        ap = 0.0
        for k in range(11):
            t = k * 0.1 if k < 5 else 1.0 - (10 - k) * 0.1  # MATLAB's 0:0.1:1
            p = _matlab_max([p for p, r in zip(prec, rec, strict=True) if r >= t])
            ap += (0.0 if p is None else p) / 11
        return ap
    # VOCap.m
    mrec = [0.0, *rec, 1.0]
    mpre = [0.0, *prec, 0.0]
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = _matlab_max([mpre[i], mpre[i + 1]])
    return sum((mrec[i] - mrec[i - 1]) * mpre[i] for i in range(1, len(mrec)) if mrec[i] != mrec[i - 1])


# 12 images: difficult ones (0), tied confidences, a difficult image ranked first, one image without a result.
GT = [1, -1, 0, 1, -1, -1, 1, 0, -1, 1, -1, 1]
CONF = [0.9, 0.8, 0.95, 0.8, 0.8, 0.3, 0.5, 0.5, 0.5, None, 0.1, 0.3]


@pytest.mark.parametrize("voc2007", [True, False])
def test_fixture_matches_devkit_transcription(voc2007):
    scores = np.array([np.nan if c is None else c for c in CONF])
    expected = devkit_cls_ap(GT, CONF, voc2007)
    assert voc_cls_ap(np.array(GT), scores, voc2007) == expected
    # the difficult image ranked first makes the first precision NaN: the fixture exercises MATLAB's max
    assert 0.3 < expected < 0.9


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("voc2007", [True, False])
def test_random_lists_match_devkit_transcription(seed, voc2007):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    gt = rng.choice([1, -1, -1, 0], size=n).tolist()
    if not any(g > 0 for g in gt):
        gt[0] = 1
    conf = [None if rng.random() < 0.05 else float(rng.integers(0, 6)) / 5 for _ in range(n)]  # many ties
    scores = np.array([np.nan if c is None else c for c in conf])
    assert voc_cls_ap(np.array(gt), scores, voc2007) == devkit_cls_ap(gt, conf, voc2007)


def test_class_without_positives_has_no_ap():
    assert math.isnan(voc_cls_ap(np.array([-1, 0, -1]), np.array([0.1, 0.2, 0.3]), False))


def test_area_rule_equals_sklearn_where_precision_is_monotone():
    # no ties, no difficult, precision at each positive non-increasing: the envelope changes nothing
    y = np.array([1, 1, -1, 1, -1, -1, 1, -1])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    assert voc_cls_ap(y, s, False) == pytest.approx(average_precision_score(y > 0, s), abs=1e-15)
    assert voc_cls_ap(y, s, False) == ranking_ap(y, s)
    # where the precision rises again the devkit's envelope is higher than sklearn's step sum
    y2 = np.array([1, -1, -1, 1, 1])
    s2 = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    assert voc_cls_ap(y2, s2, False) > average_precision_score(y2 > 0, s2)


@pytest.mark.parametrize("seed", range(8))
def test_ranking_ap_equals_sklearn_to_the_last_digit(seed):
    rng = np.random.default_rng(seed)
    y = rng.choice([1, -1], size=50)
    y[0] = 1
    s = rng.integers(0, 12, size=50) / 11.0  # ties
    assert ranking_ap(y, s) == average_precision_score(y > 0, s)
    d = y.copy()
    d[rng.random(50) < 0.2] = 0  # difficult images are left out
    d[0] = 1
    keep = d != 0
    assert ranking_ap(d, s) == average_precision_score(d[keep] > 0, s[keep])


def test_macro_ranking_map_equals_sklearn_macro():
    rng = np.random.default_rng(3)
    labels = rng.choice([1, -1], size=(40, 5))
    labels[0] = 1
    scores = rng.random((40, 5))
    ev = MultiLabelEvaluator([f"c{i}" for i in range(5)])
    ev.update(range(40), [{"scores": s, "labels": []} for s in scores], list(labels))
    got = ev.compute()["mAP_ranking"]
    assert got == pytest.approx(average_precision_score(labels > 0, scores, average="macro"), abs=1e-15)


def test_thresholds_maximise_f1_and_f1_matches_sklearn():
    rng = np.random.default_rng(0)
    labels = rng.choice([1, -1], size=(60, 4))
    scores = np.clip(0.5 * (labels > 0) + rng.normal(0, 0.3, size=(60, 4)), 0, 1)
    t = best_thresholds(labels, scores)
    for c in range(4):
        best = max(f1_score(labels[:, c] > 0, scores[:, c] >= u) for u in np.r_[scores[:, c], 2.0])
        assert f1_score(labels[:, c] > 0, scores[:, c] >= t[c]) == pytest.approx(best)
    per_class, micro = f1_scores(labels, scores >= t)
    np.testing.assert_allclose(per_class, f1_score(labels > 0, scores >= t, average=None))
    assert micro == pytest.approx(f1_score(labels > 0, scores >= t, average="micro"))


def test_exact_match_ignores_difficult_entries():
    labels = np.array([[1, -1, 0], [1, 1, -1], [-1, -1, -1]])
    predicted = np.array([[1, 0, 1], [1, 0, 0], [0, 0, 0]], bool)
    assert exact_match(labels, predicted) == pytest.approx(2 / 3)
