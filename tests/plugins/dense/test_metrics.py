"""Depth and normal metrics against a plain numpy transcription of the published formulas, on a fixture with invalid
pixels (zeros, NaN, beyond the cap, outside the crop), per image and pooled."""

from __future__ import annotations

import numpy as np
import pytest

from cvkit.task import DatasetInfo
from cvkit_dense.metrics import DenseEvaluator, crop_mask, depth_terms, normal_angles


def reference_depth(pred, gt, max_depth=None, crop=None):
    """Eigen et al. (2014), written out pixel by pixel from the paper's definitions (monodepth2's masking)."""
    h, w = gt.shape
    rows = []
    for y in range(h):
        for x in range(w):
            g = gt[y, x]
            if not np.isfinite(g) or g <= 1e-3 or (max_depth is not None and g >= max_depth):
                continue
            if crop is not None and not crop[y, x]:
                continue
            d = min(max(pred[y, x], 1e-3), max_depth if max_depth is not None else np.inf)
            rows.append((d, g))
    d = np.array([r[0] for r in rows], np.float64)
    g = np.array([r[1] for r in rows], np.float64)
    thresh = np.maximum(d / g, g / d)
    return {"abs_rel": np.mean(np.abs(d - g) / g), "sq_rel": np.mean((d - g) ** 2 / g),
            "rmse": np.sqrt(np.mean((d - g) ** 2)), "rmse_log": np.sqrt(np.mean((np.log(d) - np.log(g)) ** 2)),
            "log10": np.mean(np.abs(np.log10(d) - np.log10(g))), "delta1": np.mean(thresh < 1.25),
            "delta2": np.mean(thresh < 1.25**2), "delta3": np.mean(thresh < 1.25**3)}, d, g


def reference_normals(pred, gt):
    angles = []
    for p, g in zip(pred.reshape(-1, 3), gt.reshape(-1, 3), strict=True):
        if np.linalg.norm(g) <= 0.5:
            continue
        c = np.dot(p / np.linalg.norm(p), g / np.linalg.norm(g))
        angles.append(np.degrees(np.arccos(np.clip(c, -1, 1))))
    return np.array(angles)


def normal_summary(a):
    return {"angle_mean": a.mean(), "angle_median": np.median(a), "within_11.25": 100 * np.mean(a < 11.25),
            "within_22.5": 100 * np.mean(a < 22.5), "within_30": 100 * np.mean(a < 30)}


def fixture(seed, h=12, w=16):
    rng = np.random.default_rng(seed)
    gt = rng.uniform(0.5, 12, (h, w))
    gt[rng.random((h, w)) < 0.2] = 0  # no ground truth
    gt[0, :3] = np.nan
    pred = gt * rng.uniform(0.7, 1.4, (h, w)) + rng.normal(0, 0.2, (h, w))
    pred[np.isnan(pred) | (pred == 0)] = 2.0
    pred[1, 1] = -0.5  # a non-positive prediction is clipped to min_depth before the logs
    gn = rng.normal(size=(h, w, 3))
    gn /= np.linalg.norm(gn, axis=-1, keepdims=True)
    gn[rng.random((h, w)) < 0.25] = 0  # no ground-truth normal
    pn = gn + rng.normal(0, 0.3, (h, w, 3))
    return pred.astype(np.float32), gt.astype(np.float32), pn.astype(np.float32), gn.astype(np.float32)


@pytest.mark.parametrize("max_depth", [None, 10.0])
def test_one_image_matches_the_formulas(max_depth):
    pred, gt, _, _ = fixture(0)
    terms = depth_terms(pred, gt, max_depth=max_depth)
    ref, d, _ = reference_depth(pred.astype(np.float64), gt.astype(np.float64), max_depth)
    assert terms["n"] == len(d) < gt.size
    from cvkit_dense.metrics import depth_from_terms

    got = depth_from_terms(terms)
    for k, v in ref.items():
        assert got[k] == pytest.approx(v, rel=1e-12, abs=1e-15), k


def test_crops():
    m = crop_mask(480, 640, "eigen-nyu")
    assert m.sum() == (471 - 45) * (601 - 41) and m[45, 41] and not m[44, 41] and m[470, 600] and not m[471, 600]
    g = crop_mask(375, 1242, "garg")
    ys, xs = np.nonzero(g)
    assert (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1) == (int(0.40810811 * 375), int(0.99189189 * 375),
                                                                 int(0.03594771 * 1242), int(0.96405229 * 1242))
    pred, gt, _, _ = fixture(3, 48, 64)
    crop = crop_mask(48, 64, "eigen-nyu")
    from cvkit_dense.metrics import depth_from_terms

    got = depth_from_terms(depth_terms(pred, gt, "eigen-nyu", 10.0))
    ref, _, _ = reference_depth(pred.astype(np.float64), gt.astype(np.float64), 10.0, crop)
    assert got["rmse"] == pytest.approx(ref["rmse"], rel=1e-12)


def test_normal_angles():
    _, _, pn, gn = fixture(1)
    a = normal_angles(pn, gn)
    np.testing.assert_allclose(a, reference_normals(pn.astype(np.float64), gn.astype(np.float64)), rtol=1e-10,
                               atol=1e-9)


def _evaluate(mode, images, extra=None):
    info = DatasetInfo("t", "depthfolder", "x", "val", [], {"crop": "none", "max_depth": None, **(extra or {})})
    ev = DenseEvaluator(info, mode)
    from unittest import mock

    targets = [{"i": i} for i in range(len(images))]
    with mock.patch("cvkit_dense.datasets.depthio.load_target", lambda t: (images[t["i"]][1], images[t["i"]][3])):
        ev.update(range(len(images)), [{"depth": p, "normals": n} for p, _, n, _ in images], targets)
    return ev


@pytest.mark.parametrize("mode", ["per-image", "pooled"])
def test_dataset_pooling(mode):
    images = [fixture(s, 10 + s, 14) for s in range(4)]
    empty = fixture(9)
    images.append((empty[0], np.zeros_like(empty[1]), empty[2], empty[3]))  # no valid depth: left out of depth
    ev = _evaluate(mode, images)
    got = ev.compute()
    refs = [reference_depth(p.astype(np.float64), g.astype(np.float64)) for p, g, _, _ in images[:4]]
    angles = [reference_normals(pn.astype(np.float64), gn.astype(np.float64)) for _, _, pn, gn in images]
    if mode == "per-image":
        expect = {k: np.mean([r[0][k] for r in refs]) for k in refs[0][0]}
        per = [normal_summary(a) for a in angles]
        expect.update({k: np.mean([p[k] for p in per]) for k in per[0]})
    else:
        d = np.concatenate([r[1] for r in refs])
        g = np.concatenate([r[2] for r in refs])
        thresh = np.maximum(d / g, g / d)
        expect = {"abs_rel": np.mean(np.abs(d - g) / g), "sq_rel": np.mean((d - g) ** 2 / g),
                  "rmse": np.sqrt(np.mean((d - g) ** 2)), "rmse_log": np.sqrt(np.mean((np.log(d) - np.log(g)) ** 2)),
                  "log10": np.mean(np.abs(np.log10(d) - np.log10(g))),
                  **{f"delta{k}": np.mean(thresh < 1.25**k) for k in (1, 2, 3)}}
        expect.update(normal_summary(np.concatenate(angles)))
    assert set(got) == set(expect)
    for k, v in expect.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k
    assert ev.details()["images_without_valid_depth"] == 1


def test_pooling_differs_and_merge():
    images = [fixture(s, 8 + 3 * s, 9) for s in range(3)]
    a, b = _evaluate("per-image", images).compute(), _evaluate("pooled", images).compute()
    assert a["rmse"] != pytest.approx(b["rmse"], rel=1e-6)  # the two conventions are not the same number
    whole = _evaluate("pooled", images)
    part1, part2 = _evaluate("pooled", images[:2]), _evaluate("pooled", images)
    part2.items = {k: v for k, v in part2.items.items() if k >= 2}
    part1.merge([part1.state(), part2.state()])
    assert part1.compute() == whole.compute()
