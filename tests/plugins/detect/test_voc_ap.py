"""VOC AP against hand-worked cases and a literal re-implementation of the devkit's VOCevaldet.m / VOCap.m."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cvkit.task import DatasetInfo
from cvkit.vision.detections import make_target
from cvkit_detect.metrics.evaluator import DetectionEvaluator
from cvkit_detect.metrics.voc_ap import VOC07_THRESHOLDS, voc_ap, voc_eval_class


def devkit_reference(gts, diffs, ids, conf, bbs, use_07, strict=False):
    """Line-by-line VOCevaldet.m (and VOCap.m), loops and all."""
    npos = sum(int(np.sum(~np.asarray(d, bool))) for d in diffs)
    det = [np.zeros(len(g), bool) for g in gts]
    si = sorted(range(len(conf)), key=lambda d: -conf[d])  # Python's sort is stable, like MATLAB's
    nd = len(conf)
    tp, fp = np.zeros(nd), np.zeros(nd)
    for d in range(nd):
        i, bb = ids[si[d]], bbs[si[d]]
        ovmax, jmax = -math.inf, -1
        for j, bbgt in enumerate(gts[i]):
            bi = [max(bb[0], bbgt[0]), max(bb[1], bbgt[1]), min(bb[2], bbgt[2]), min(bb[3], bbgt[3])]
            iw = bi[2] - bi[0] + 1
            ih = bi[3] - bi[1] + 1
            if iw > 0 and ih > 0:
                ua = ((bb[2] - bb[0] + 1) * (bb[3] - bb[1] + 1)
                      + (bbgt[2] - bbgt[0] + 1) * (bbgt[3] - bbgt[1] + 1) - iw * ih)
                ov = iw * ih / ua
                if ov > ovmax:
                    ovmax, jmax = ov, j
        if (ovmax > 0.5) if strict else (ovmax >= 0.5):
            if not diffs[i][jmax]:
                if not det[i][jmax]:
                    tp[d] = 1
                    det[i][jmax] = True
                else:
                    fp[d] = 1
        else:
            fp[d] = 1
    fp, tp = np.cumsum(fp), np.cumsum(tp)
    rec = tp / npos
    prec = np.array([t / (t + f) if t + f > 0 else 0.0 for t, f in zip(tp, fp, strict=True)])
    if use_07:
        ap = 0.0
        for t in VOC07_THRESHOLDS:
            p = [pr for pr, r in zip(prec, rec, strict=True) if r >= t]
            ap += (max(p) if p else 0.0) / 11
        return ap
    mrec = [0.0, *rec, 1.0]
    mpre = [0.0, *prec, 0.0]
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    return sum((mrec[i] - mrec[i - 1]) * mpre[i] for i in range(1, len(mrec)) if mrec[i] != mrec[i - 1])


def voc_eval_py_reference(gts, diffs, ids, conf, bbs, use_07):
    """py-faster-rcnn's lib/datasets/voc_eval.py algorithm, loop by loop: numpy's default argsort of -confidence,
    per detection the IoU with every GT box of its image (widths + 1, clipped at 0), ``ovmax > 0.5``, precision
    ``tp / max(tp + fp, eps)``, and 11 points at np.arange(0., 1.1, 0.1)."""
    confidence = np.asarray(conf, np.float64)
    order = np.argsort(-confidence)
    boxes = np.asarray(bbs, np.float64).reshape(-1, 4)[order]
    image_ids = [ids[x] for x in order]
    taken = [np.zeros(len(g), bool) for g in gts]
    npos = sum(int(np.sum(~np.asarray(d, bool))) for d in diffs)
    nd = len(image_ids)
    tp, fp = np.zeros(nd), np.zeros(nd)
    for d in range(nd):
        bb, gt, diff = boxes[d], np.asarray(gts[image_ids[d]], float).reshape(-1, 4), diffs[image_ids[d]]
        ovmax, jmax = -np.inf, 0
        if gt.size > 0:
            iw = np.maximum(np.minimum(gt[:, 2], bb[2]) - np.maximum(gt[:, 0], bb[0]) + 1.0, 0.0)
            ih = np.maximum(np.minimum(gt[:, 3], bb[3]) - np.maximum(gt[:, 1], bb[1]) + 1.0, 0.0)
            inters = iw * ih
            uni = ((bb[2] - bb[0] + 1.0) * (bb[3] - bb[1] + 1.0)
                   + (gt[:, 2] - gt[:, 0] + 1.0) * (gt[:, 3] - gt[:, 1] + 1.0) - inters)
            overlaps = inters / uni
            ovmax, jmax = np.max(overlaps), np.argmax(overlaps)
        if ovmax > 0.5:
            if not diff[jmax]:
                if not taken[image_ids[d]][jmax]:
                    tp[d] = 1.0
                    taken[image_ids[d]][jmax] = True
                else:
                    fp[d] = 1.0
        else:
            fp[d] = 1.0
    fp, tp = np.cumsum(fp), np.cumsum(tp)
    rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    if use_07:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            p = 0 if np.sum(rec >= t) == 0 else np.max(prec[rec >= t])
            ap = ap + p / 11.0
        return ap
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])


def exact_recall_fixture():
    """10 images with one GT box each; 6 hits, 4 misses, then 1 hit: recall is exactly 0.6 (6/10) for the
    precision-1 stretch, then 0.7 (7/11 precision), then 0.8 and 0.9 with lower precision."""
    gts = [np.array([[1, 1, 20, 20]], float) for _ in range(10)]
    diffs = [np.zeros(1, bool) for _ in range(10)]
    hit, miss = [1, 1, 20, 20], [40, 40, 50, 50]
    ids = [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 6, 4, 7, 8]
    bbs = [hit] * 6 + [miss] * 4 + [hit] + [miss] + [hit, hit]
    conf = [0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.9, 0.89, 0.88, 0.87, 0.8, 0.7, 0.6, 0.5]
    return gts, diffs, ids, conf, np.array(bbs, float)


def test_voc07_strict_is_voc_eval_py_where_recall_hits_0_6_and_0_7():
    gts, diffs, ids, conf, bbs = exact_recall_fixture()
    strict = voc_eval_class(gts, diffs, np.array(ids), np.array(conf), bbs, use_07=True, strict=True)
    assert strict.recall[5] == 0.6 and strict.recall[10] == 0.7  # exactly the doubles 0.6 and 0.7
    assert strict.ap == voc_eval_py_reference(gts, diffs, ids, conf, bbs, use_07=True)
    devkit = voc_eval_class(gts, diffs, np.array(ids), np.array(conf), bbs, use_07=True)
    assert devkit.ap == devkit_reference(gts, diffs, ids, conf, list(bbs), True)
    # MATLAB's 0.6 and 0.7 see precision 1 and 7/11; voc_eval.py's 0.6000000000000001 and 0.7000000000000001 see
    # only the later points: 7/11 and 9/14 (recall 0.9 at the last detection)
    assert devkit.ap - strict.ap == pytest.approx((1 - 7 / 11 + 7 / 11 - 9 / 14) / 11, abs=1e-15)


def test_evaluator_voc07_strict_per_class_equals_voc_eval_py():
    gts, diffs, ids, conf, bbs = exact_recall_fixture()
    info = DatasetInfo("t", "voc", "voc:t", "val", ["a", "b"], {"year": 2007})
    targets = [make_target(g - [1, 1, 0, 0], [0], (60, 60)) for g in gts]
    preds = [{"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0, int)} for _ in gts]
    for i, c, b in zip(ids, conf, bbs, strict=True):
        p = preds[i]
        p["boxes"] = np.concatenate([p["boxes"], [b - [1, 1, 0, 0]]])
        p["scores"] = np.append(p["scores"], c)
        p["labels"] = np.append(p["labels"], 0)
    order = sorted(range(len(ids)), key=lambda d: ids[d])  # the evaluator submits detections image by image
    reference = voc_eval_py_reference(gts, diffs, [ids[d] for d in order], [conf[d] for d in order],
                                      bbs[order], use_07=True)
    ev = DetectionEvaluator(info, "voc07-strict")
    ev.update(list(range(10)), preds, targets)
    assert ev.compute()["mAP"] == reference
    assert ev.details()["per_class"][0]["AP"] == reference and ev.details()["per_class"][1]["AP"] is None


def test_matlab_colon_thresholds():
    # MATLAB's 0:0.1:1 is not k/10 everywhere: its 4th element is 3*0.1, one ulp above 0.3.
    assert VOC07_THRESHOLDS[3] == 3 * 0.1 != 0.3
    assert list(VOC07_THRESHOLDS[[0, 5, 6, 7, 10]]) == [0.0, 0.5, 0.6, 0.7, 1.0]


def test_hand_worked_case():
    # One image, two GT boxes (devkit coordinates) A=[1,1,10,10] and B=[21,1,30,10] (each 10x10 = 100 px).
    # Detections by score: d1 on A exactly (IoU 1, TP), d2 on A again (duplicate -> FP),
    # d3 = [21,1,30,5]: inclusive widths 10x5 = 50 px, IoU 50/100 = 0.5 exactly -> TP with ">=", FP with ">".
    gt = [np.array([[1, 1, 10, 10], [21, 1, 30, 10]], float)]
    diff = [np.zeros(2, bool)]
    boxes = np.array([[1, 1, 10, 10], [1, 1, 10, 10], [21, 1, 30, 5]], float)
    scores = np.array([0.9, 0.8, 0.7])
    ids = np.zeros(3, int)
    r = voc_eval_class(gt, diff, ids, scores, boxes, use_07=False)
    # ">=": tp = 1,1,2  fp = 0,1,1 -> recall .5,.5,1  precision 1,.5,2/3.
    # area: envelope 1 at recall .5, 2/3 at recall 1 -> AP = .5*1 + .5*2/3 = 5/6.
    assert r.ap == pytest.approx(5 / 6, abs=1e-15)
    assert np.allclose(r.precision, [1, 0.5, 2 / 3]) and np.allclose(r.recall, [0.5, 0.5, 1])
    # 11-point: thresholds 0..0.5 (6 of them) see precision 1, 0.6..1.0 (5) see 2/3 -> (6 + 5*2/3)/11 = 28/33.
    r07 = voc_eval_class(gt, diff, ids, scores, boxes, use_07=True)
    assert r07.ap == pytest.approx(28 / 33, abs=1e-15)
    # ">" (py-faster-rcnn): d3 becomes FP: precision 1,.5,1/3, recall .5,.5,.5 -> area AP = .5*1 = 0.5;
    # 11-point: thresholds 0..0.5 see precision 1 -> 6/11.
    assert voc_eval_class(gt, diff, ids, scores, boxes, strict=True).ap == pytest.approx(0.5, abs=1e-15)
    assert voc_eval_class(gt, diff, ids, scores, boxes, use_07=True, strict=True).ap == pytest.approx(6 / 11)


def test_difficult_and_best_over_taken():
    # GT: A=[1,1,10,10] normal, B=[1,1,10,12] difficult; npos = 1.
    # d1 = A exactly: best IoU is A (1.0) -> TP.  d2 = [1,1,10,12]: IoU with A = 100/120, with B = 1 -> B is
    # difficult -> ignored (neither TP nor FP).  d3 = [1,1,10,10] again: best is A (taken) -> FP.
    gt = [np.array([[1, 1, 10, 10], [1, 1, 10, 12]], float)]
    diff = [np.array([False, True])]
    boxes = np.array([[1, 1, 10, 10], [1, 1, 10, 12], [1, 1, 10, 10]], float)
    r = voc_eval_class(gt, diff, np.zeros(3, int), np.array([3.0, 2.0, 1.0]), boxes)
    assert r.npos == 1
    assert np.allclose(r.recall, [1, 1, 1]) and np.allclose(r.precision, [1, 1, 0.5])
    assert r.ap == 1.0  # envelope is 1 up to recall 1


def test_no_detections_and_no_gt():
    gt = [np.zeros((0, 4)), np.array([[5, 5, 20, 20]], float)]
    diff = [np.zeros(0, bool), np.zeros(1, bool)]
    empty = voc_eval_class(gt, diff, np.zeros(0, int), np.zeros(0), np.zeros((0, 4)))
    assert empty.ap == 0.0
    # a detection on an image without GT of the class is a false positive
    r = voc_eval_class(gt, diff, np.array([0, 1]), np.array([0.9, 0.1]), np.array([[5, 5, 20, 20]] * 2, float))
    assert np.allclose(r.precision, [0, 0.5]) and r.ap == pytest.approx(0.5)
    assert math.isnan(voc_eval_class([np.zeros((0, 4))], [np.zeros(0, bool)], [0], [1.0], [[1, 1, 2, 2]]).ap)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("use_07", [True, False])
def test_random_against_devkit_reference(seed, use_07):
    rng = np.random.default_rng(seed)
    n_img = int(rng.integers(1, 8))
    gts, diffs = [], []
    for _ in range(n_img):
        n = int(rng.integers(0, 5))
        xy = rng.integers(1, 60, (n, 2))
        wh = rng.integers(0, 30, (n, 2))
        gts.append(np.concatenate([xy, xy + wh], 1).astype(float))
        diffs.append(rng.random(n) < 0.2)
    nd = int(rng.integers(0, 40))
    ids = rng.integers(0, n_img, nd)
    bbs = []
    for i in ids:  # jittered copies of GT (duplicates included) plus random boxes
        if len(gts[i]) and rng.random() < 0.7:
            bbs.append(gts[i][rng.integers(len(gts[i]))] + rng.integers(-3, 4, 4))
        else:
            xy = rng.integers(1, 60, 2)
            bbs.append(np.concatenate([xy, xy + rng.integers(0, 30, 2)]).astype(float))
    bbs = np.array(bbs, float).reshape(-1, 4)
    conf = np.round(rng.random(nd), 1)  # coarse scores -> many ties
    if sum(int((~d).sum()) for d in diffs) == 0:
        return
    ours = voc_eval_class(gts, diffs, ids, conf, bbs, use_07=use_07).ap
    assert ours == pytest.approx(devkit_reference(gts, diffs, list(ids), list(conf), list(bbs), use_07), abs=1e-12)
    strict = voc_eval_class(gts, diffs, ids, conf, bbs, use_07=use_07, strict=True).ap
    assert strict == voc_eval_py_reference(gts, diffs, list(ids), list(conf), bbs, use_07), seed


def test_voc_ap_exact_recall_threshold():
    # recall exactly 0.3 (3 of 10) does not reach MATLAB's 4th threshold 0.30000000000000004
    assert voc_ap(np.array([0.3]), np.array([1.0]), use_07=True) == pytest.approx(3 / 11)


def test_evaluator_voc_converts_coordinates():
    # GT pixel-edge box [0,0,10,10] is devkit [1,1,10,10]; prediction [0,0,10,5] is devkit [1,1,10,5]:
    # inclusive 10x5 = 50 of 100 px -> IoU 0.5 -> TP under "voc" (>=), FP under "voc-strict" (>).
    info = DatasetInfo("t", "voc", "voc:t", "val", ["a", "b"], {"year": 2012})
    target = make_target([[0, 0, 10, 10]], [0], (20, 20))
    pred = {"boxes": np.array([[0, 0, 10, 5.0]]), "scores": np.array([0.5]), "labels": np.array([0])}
    for metric, expected in (("voc", 1.0), ("voc-strict", 0.0), ("voc07", 1.0)):
        ev = DetectionEvaluator(info, metric)
        ev.update([0], [pred], [target])
        # (11 x p/11 sums to 1.0000000000000002, as in the devkit)
        assert ev.compute()["mAP"] == pytest.approx(expected, abs=1e-15)  # "b" has no GT: left out of the mean
        assert ev.details()["per_class"][1]["AP"] is None
    assert DetectionEvaluator(info).metric == "voc"
    assert DetectionEvaluator(DatasetInfo("t", "voc", "", "test", ["a"], {"year": 2007})).metric == "voc07"
