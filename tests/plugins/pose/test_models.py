"""Models build and take a training and a prediction step; crops, heatmap targets and decoding are exact."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cvkit.errors import UsageError
from cvkit.task import DatasetInfo, ModelConfig, RawSplit
from cvkit_pose import heatmaps, transforms
from cvkit_pose.skeleton import MPII_JOINTS, extra_for, flip_index
from cvkit_pose.target import make_target

from .fixtures import image

INFO = DatasetInfo("mpii", "mpii", "mpii:x", "train", list(MPII_JOINTS), extra_for(MPII_JOINTS, metric="pckh"))
TINY = {
    "simple-baseline": (64, {"stride": 2, "sigma": 1.0, "width": 8, "deconv_channels": 16}),
    "hourglass": (64, {"stride": 4, "sigma": 1.0, "channels": 16, "depth": 2}),
    "keypoint-rcnn": (64, {"head_channels": 16, "head_layers": 1}),
}


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    root = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    sources, targets = [], []
    for i in range(3):
        image(root / f"{i}.png", 48, 64)
        kp = rng.uniform(8, 40, (2, 16, 2))
        vis = np.ones((2, 16), int)
        vis[1, 3] = 0
        sources.append(str(root / f"{i}.png"))
        targets.append(make_target(kp, vis, (48, 64), head_boxes=[[0, 0, 10, 10]] * 2, image_id=i + 1))
    return RawSplit(INFO, sources, targets)


@pytest.mark.parametrize("name", list(TINY))
def test_model_train_and_predict_steps(task, raw, name):
    size, args = TINY[name]
    cfg = ModelConfig(name, size, args)
    model = task.build_model(cfg, INFO)
    train = task.dataset(raw, cfg, train=True)
    batch = task.collate([train[i] for i in range(min(4, len(train)))])
    model.train()
    logs = task.train_step(model, batch)
    assert torch.isfinite(logs["loss"]) and logs["loss"].requires_grad
    logs["loss"].backward()
    model.eval()
    val = task.dataset(raw, cfg, train=False)
    batch = task.collate([val[0], val[1]])
    batch.indices = [0, 1]
    with torch.no_grad():
        preds = task.predict_step(model, batch)
    assert len(preds) == 2
    for p in preds:
        assert p["keypoints"].shape[1:] == (16, 3) and np.isfinite(p["keypoints"]).all()
        assert len(p["boxes"]) == len(p["scores"]) == len(p["keypoints"])
    if name != "keypoint-rcnn":
        assert len(preds[0]["scores"]) == 2 and preds[0]["match"] == [0, 1]  # one prediction per annotated crop
        assert len(train) == 6  # one training sample per person


def test_unknown_model_and_bad_arguments(task):
    with pytest.raises(UsageError, match="unknown pose model"):
        task.build_model(ModelConfig("nope", 64), INFO)
    with pytest.raises(UsageError, match="bad arguments"):
        task.build_model(ModelConfig("simple-baseline", 64, {"stride": 3}), INFO)
    with pytest.raises(UsageError, match="decode"):
        heatmaps.options({"decode": "soft"})


def test_crop_matrix_maps_crop_onto_input_and_back():
    m = transforms.crop_matrix([50.0, 30.0, 40.0], 64)
    # the crop's centre lands on the input centre; its edges (pixel centres 20 px either side, x = 30 and 70) on
    # the input's edges (-0.5 and 63.5): k = 64 / 40 = 1.6, x' = 1.6 (x - 50) + 31.5
    np.testing.assert_allclose(transforms.apply(m, [[50, 30], [30, 10], [70, 50]]),
                               [[31.5, 31.5], [-0.5, -0.5], [63.5, 63.5]])
    r = transforms.crop_matrix([50.0, 30.0, 40.0], 64, rotate=90)
    np.testing.assert_allclose(transforms.apply(r, [[50, 20]]), [[31.5 - 16, 31.5]], atol=1e-9)
    back = transforms.invert(r)
    pts = np.array([[3.0, 4.0], [60.0, 10.0]])
    np.testing.assert_allclose(transforms.apply(back, transforms.apply(r, pts)), pts, atol=1e-9)
    np.testing.assert_allclose(transforms.whole_image_crop(48, 64), [31.5, 23.5, 64])


def test_gaussian_targets_and_weights():
    pts = np.array([[5.0, 6.0], [-10.0, 3.0], [2.0, 2.0]])
    maps, w = transforms.gaussian_targets(pts, np.array([1.0, 1.0, 0.0]), 16, 1.0)
    assert maps[0].max() == pytest.approx(1.0) and np.unravel_index(maps[0].argmax(), (16, 16)) == (6, 5)
    assert maps[0, 6, 6] == pytest.approx(math.exp(-0.5))
    assert w.tolist() == [1.0, 0.0, 0.0] and maps[1].max() == 0 and maps[2].max() == 0  # outside / unlabelled
    # heatmap cell u of stride t covers input pixels t u .. t u + t - 1
    np.testing.assert_allclose(transforms.input_to_heatmap([[0.5, 7.5]], 2), [[0.0, 3.5]])
    np.testing.assert_allclose(transforms.heatmap_to_input([[0.0, 3.5]], 2), [[0.5, 7.5]])


def test_gaussian_targets_equal_one_joint_at_a_time():
    """The maps are computed for all joints at once; each equals its own joint's separable Gaussian to the bit
    (float64, cast to float32), joints with NaN positions or weight 0 are zero."""
    rng = np.random.default_rng(0)
    pts = transforms.input_to_heatmap(rng.uniform(-12, 44, size=(17, 2)), 2)
    pts[3] = np.nan
    flags = (rng.random(17) > 0.2).astype(np.float32)
    flags[3] = 0.0
    maps, w = transforms.gaussian_targets(pts, flags, 16, 1.5)
    grid = np.arange(16, dtype=np.float32)
    for j, (x, y) in enumerate(pts):
        out = not (x + 4.5 >= 0 and y + 4.5 >= 0 and x - 4.5 <= 15 and y - 4.5 <= 15)
        want_w = 0.0 if flags[j] <= 0 or out else 1.0
        assert w[j] == want_w
        want = np.zeros((16, 16), np.float32)
        if want_w:
            want[:] = np.exp(-((grid - y) ** 2) / 4.5)[:, None] * np.exp(-((grid - x) ** 2) / 4.5)[None, :]
        assert np.array_equal(maps[j], want), j
    assert maps.dtype == np.float32 and w.dtype == np.float32 and 0 < w.sum() < 16


def _blob(x: float, y: float, size: int = 32, sigma: float = 2.0) -> np.ndarray:
    g = np.arange(size)
    return np.exp(-((g[None, :] - x) ** 2 + (g[:, None] - y) ** 2) / (2 * sigma**2))[None, None]


def test_decoders():
    hm = _blob(10.3, 20.8)
    c, v = heatmaps.decode(hm, "argmax")
    np.testing.assert_allclose(c[0, 0], [10, 21])
    assert v[0, 0] == pytest.approx(math.exp(-(0.09 + 0.04) / 8))
    c, _ = heatmaps.decode(hm, "shift")  # a quarter cell toward the higher neighbour, per axis
    np.testing.assert_allclose(c[0, 0], [10.25, 20.75])
    c, _ = heatmaps.decode(hm, "dark", sigma=2.0)  # DARK recovers a Gaussian's sub-pixel centre
    np.testing.assert_allclose(c[0, 0], [10.3, 20.8], atol=0.05)
    edge = _blob(0.0, 31.0)
    c, _ = heatmaps.decode(edge, "shift")  # no neighbour beyond the border: stays put on that axis
    np.testing.assert_allclose(c[0, 0], [0.0, 31.0])


def test_flip_back_is_an_exact_mirror():
    names = list(MPII_JOINTS)
    perm = flip_index(names)
    assert perm[0] == 5 and perm[12] == 13 and perm[9] == 9
    hm = torch.from_numpy(np.concatenate([_blob(3.0 + k, 7.0, 16) for k in range(16)], 1))
    back = heatmaps.flip_back(hm.flip(-1)[:, perm], perm)
    assert torch.equal(back, hm)
