"""PCKh: hand-worked cases, and agreement with a straightforward port of HRNet's / MATLAB's evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from cvkit.errors import CvkitError
from cvkit.task import DatasetInfo
from cvkit_pose.metrics.evaluator import PoseEvaluator, pair
from cvkit_pose.skeleton import MPII_JOINTS, extra_for
from cvkit_pose.target import make_target

INFO = DatasetInfo("mpii", "mpii", "mpii:x", "val", list(MPII_JOINTS), extra_for(MPII_JOINTS, metric="pckh"))
HEAD = [0.0, 0.0, 30.0, 40.0]  # diagonal 50 -> head size 0.6 * 50 = 30 px; @0.5 -> 15 px, @0.1 -> 3 px


def _pred(points: np.ndarray, match: list[int] | None = None) -> dict:
    kp = np.concatenate([points, np.ones((*points.shape[:2], 1))], -1)
    return {"keypoints": kp, "boxes": np.zeros((len(points), 4)), "scores": np.ones(len(points)), "match": match}


def _hand_case() -> tuple[dict, dict]:
    gt = np.stack([np.stack([np.arange(16) * 10.0, np.full(16, 50.0)], 1)] * 2)
    gt[1, :, 0] += 300  # person 2 stands to the right of person 1
    vis = np.ones((2, 16), int)
    vis[1, :6] = 0  # person 2: legs (joints 0-5) unlabelled
    pred = gt.copy()
    pred[0, 9] += (9, 12)  # |(9, 12)| = 15 -> d = 0.5 exactly: correct with <=, wrong with <
    pred[0, 12] += (3, 0)  # d = 0.1 exactly: correct at 0.5 and at 0.1
    pred[0, 11] += (12, 16)  # 20 px -> d = 0.667: wrong
    pred[0, 6] += (100, 0)  # pelvis and thorax are wrong but excluded from the Mean
    pred[0, 7] += (100, 0)
    pred[1, 10] += (30, 40)  # 50 px -> d = 1.667: wrong
    target = make_target(gt, vis, (100, 200), head_boxes=[HEAD, HEAD])
    return target, _pred(pred, [0, 1])


def test_hand_worked_pckh():
    # Included joints (all but pelvis 6, thorax 7): person 1 has 14 labelled, wrong: 11 -> 13 correct; person 2 has
    # 8 labelled (8..15), wrong: 10 -> 7 correct. Mean = 20 / 22.
    # Groups (plain mean of the two joints): Head = joint 9: 2/2 = 1; Elbow = (11: 1/2 + 14: 2/2) / 2 = 0.75;
    # Wrist = (10: 1/2 + 15: 2/2) / 2 = 0.75; Hip, Knee, Ankle: person 1 only, all right = 1.
    # @0.1 (<= 3 px): person 1 right on 0-5, 8, 10, 12 (exactly 0.1), 13, 14, 15 = 12; person 2 on 8, 9, 11-15 = 7
    # -> 19 / 22.
    target, pred = _hand_case()
    ev = PoseEvaluator(INFO)
    ev.update([0], [pred], [target])
    m = ev.compute()
    assert m["PCKh"] == pytest.approx(20 / 22)
    assert m["PCKh@0.1"] == pytest.approx(19 / 22)
    assert (m["Head"], m["Shoulder"], m["Elbow"], m["Wrist"], m["Hip"], m["Knee"], m["Ankle"]) == \
        pytest.approx((1.0, 1.0, 0.75, 0.75, 1.0, 1.0, 1.0))
    rows = {r["joint"]: r for r in ev.details()["per_joint"]}
    assert rows["r_ankle"]["count"] == 1 and rows["pelvis"]["included_in_mean"] is False
    assert rows["pelvis"]["PCKh"] == 0.5  # person 1 wrong, person 2 right: reported, not in the Mean


def test_strict_threshold_variant():
    # mmpose's "<": the head of person 1 at exactly d = 0.5 becomes wrong: Head = 1/2, Mean = 19 / 22.
    target, pred = _hand_case()
    ev = PoseEvaluator(INFO, "pckh-strict")
    ev.update([0], [pred], [target])
    m = ev.compute()
    assert m["Head"] == 0.5 and m["PCKh"] == pytest.approx(19 / 22)


def test_closest_person_matching_and_misses():
    target, pred = _hand_case()
    swapped = {k: v[::-1] for k, v in pred.items() if k != "match"}  # no crop match: pair by distance
    ev = PoseEvaluator(INFO)
    ev.update([0], [swapped], [target])
    assert ev.compute()["PCKh"] == pytest.approx(20 / 22)
    one = {k: v[:1] for k, v in pred.items() if k != "match"}  # only person 1 predicted: person 2 misses all 8
    ev = PoseEvaluator(INFO)
    ev.update([0], [one], [target])
    assert ev.compute()["PCKh"] == pytest.approx(13 / 22)
    assert pair(np.array([[1.0, 0.2], [0.1, 0.3]])) == {1: 0, 0: 1}


def test_missing_head_boxes_are_an_error():
    target, pred = _hand_case()
    target["head_boxes"][:] = np.nan
    ev = PoseEvaluator(INFO)
    ev.update([0], [pred], [target])
    with pytest.raises(CvkitError, match="head box"):
        ev.compute()


def hrnet_pckh(preds: np.ndarray, pos_gt_src: np.ndarray, jnt_missing: np.ndarray, headboxes_src: np.ndarray,
               threshold: float) -> dict[str, float]:
    """HRNet's MPIIDataset.evaluate, step by step: preds (N, 16, 2) 0-based; gt arrays as in gt_valid.mat."""
    pos_pred_src = np.transpose(preds + 1.0, [1, 2, 0])
    jnt_visible = 1 - jnt_missing
    uv_err = np.linalg.norm(pos_pred_src - pos_gt_src, axis=1)
    headsizes = np.linalg.norm(headboxes_src[1, :, :] - headboxes_src[0, :, :], axis=0) * 0.6
    scaled = np.divide(uv_err, np.multiply(headsizes, np.ones((len(uv_err), 1)))) * jnt_visible
    jnt_count = np.sum(jnt_visible, axis=1)
    less = np.multiply(scaled <= threshold, jnt_visible)
    pck = 100.0 * np.sum(less, axis=1) / jnt_count
    pck = np.ma.array(pck, mask=False)
    pck.mask[6:8] = True
    count = np.ma.array(jnt_count, mask=False)
    count.mask[6:8] = True
    ratio = count / np.sum(count).astype(np.float64)
    return {"Head": pck[9], "Shoulder": 0.5 * (pck[13] + pck[12]), "Elbow": 0.5 * (pck[14] + pck[11]),
            "Wrist": 0.5 * (pck[15] + pck[10]), "Hip": 0.5 * (pck[3] + pck[2]), "Knee": 0.5 * (pck[4] + pck[1]),
            "Ankle": 0.5 * (pck[5] + pck[0]), "Mean": float(np.sum(pck * ratio))}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_hrnet_matlab_evaluation(seed):
    rng = np.random.default_rng(seed)
    n = 300
    gt1 = rng.uniform(1, 400, (n, 16, 2))  # 1-based, as in gt_valid.mat
    missing = (rng.random((n, 16)) < 0.15).astype(float)
    heads1 = np.concatenate([rng.uniform(1, 300, (n, 2)), np.zeros((n, 2))], 1)
    heads1[:, 2:] = heads1[:, :2] + rng.uniform(10, 60, (n, 2))
    hs = 0.6 * np.linalg.norm(heads1[:, 2:] - heads1[:, :2], axis=1)
    # predictions around the truth, at distances spread over both thresholds
    angle = rng.uniform(0, 2 * np.pi, (n, 16))
    dist = rng.uniform(0, 0.9, (n, 16)) * hs[:, None]
    pred0 = gt1 - 1 + np.stack([np.cos(angle), np.sin(angle)], -1) * dist[..., None]
    pos_gt_src = gt1.transpose(1, 2, 0)
    headboxes_src = np.stack([heads1[:, :2].T, heads1[:, 2:].T])
    ref50 = hrnet_pckh(pred0, pos_gt_src, missing.T, headboxes_src, 0.5)
    ref10 = hrnet_pckh(pred0, pos_gt_src, missing.T, headboxes_src, 0.1)

    # ours: people spread over images of 1-3 people, targets 0-based like the loader makes them
    ev = PoseEvaluator(INFO)
    start, index = 0, 0
    while start < n:
        k = min(int(rng.integers(1, 4)), n - start)
        sl = slice(start, start + k)
        vis = (1 - missing[sl]).astype(int)
        t = make_target(gt1[sl] - 1, vis, (0, 0), head_boxes=heads1[sl] - 1)
        ev.update([index], [_pred(pred0[sl], list(range(k)))], [t])
        start, index = start + k, index + 1
    m = ev.compute()
    for group in ("Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle"):
        assert 100 * m[group] == pytest.approx(float(ref50[group]), abs=1e-9), group
    assert 100 * m["PCKh"] == pytest.approx(ref50["Mean"], abs=1e-9)
    assert 100 * m["PCKh@0.1"] == pytest.approx(ref10["Mean"], abs=1e-9)
    assert 0.2 < m["PCKh"] < 0.8  # the case is not degenerate
