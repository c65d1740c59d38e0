"""Losses mask invalid pixels, every model predicts depth and normals at the input size, records round-trip through
saved maps, and the CLI trains, evaluates, predicts and draws on builtin:rooms."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from cvkit.errors import UsageError
from cvkit.task import DatasetInfo, ModelConfig
from cvkit_dense import losses, models, records
from cvkit_dense.datasets.dataset import input_hw
from tests.conftest import cvkit


def test_depth_losses_mask_invalid_pixels():
    gt = torch.tensor([[[[2.0, 0.0], [4.0, 1.0]]]])
    pred = torch.tensor([[[[1.0, 99.0], [4.0, 2.0]]]], requires_grad=True)
    assert losses.depth_loss(pred, gt, "l1").item() == pytest.approx((1 + 0 + 1) / 3)
    assert losses.depth_loss(pred, gt, "l2").item() == pytest.approx((1 + 0 + 1) / 3)
    e = np.log([1 / 2, 1, 2])
    assert losses.depth_loss(pred, gt, "log-l1").item() == pytest.approx(np.abs(e).mean(), rel=1e-6)
    silog = (e**2).mean() - 0.5 * e.mean() ** 2
    assert losses.depth_loss(pred, gt, "silog").item() == pytest.approx(silog, rel=1e-6)
    losses.depth_loss(pred, gt, "silog").backward()
    assert pred.grad[0, 0, 0, 1] == 0  # the invalid pixel gets no gradient
    scaled = losses.depth_loss(pred.detach() * 3, gt, "silog", silog_lambda=1.0)
    assert scaled.item() == pytest.approx(losses.depth_loss(pred.detach(), gt, "silog", silog_lambda=1.0).item(),
                                          abs=1e-6)  # lambda 1: blind to a global scale
    assert losses.depth_loss(pred, torch.zeros_like(gt), "silog").item() == 0


def test_rel_l1_is_absrel_and_masks_invalid_pixels():
    """``rel-l1`` is |d - g| / g over the valid pixels (the AbsRel metric); the gradient is finite everywhere and 0
    at pixels without ground truth, also at a prediction clamped at the model's depth floor or equal to the truth."""
    gt = torch.tensor([[[[2.0, 0.0], [4.0, 1.0]]]])
    pred = torch.tensor([[[[1.0, 99.0], [4.0, 2.0]]]], requires_grad=True)
    assert losses.depth_loss(pred, gt, "rel-l1").item() == pytest.approx((0.5 + 0 + 1) / 3)
    assert losses.depth_loss(pred, gt).item() == pytest.approx((0.5 + 0 + 1) / 3)  # the default
    losses.depth_loss(pred, gt, "rel-l1").backward()
    assert torch.isfinite(pred.grad).all()
    assert pred.grad[0, 0, 0, 1] == 0
    assert pred.grad[0, 0, 0, 0].item() == pytest.approx(-1 / (2 * 3))  # -1/g over the 3 valid pixels
    assert pred.grad[0, 0, 1, 1].item() == pytest.approx(1 / 3)
    # through the model's exp parameterisation, at tiny and huge depths, with all pixels invalid
    for g in (torch.full((1, 1, 2, 2), 1e-3), torch.full((1, 1, 2, 2), 1e3), torch.zeros(1, 1, 2, 2)):
        raw = torch.tensor([[[[-7.0, 7.0], [0.0, 0.5]]]], requires_grad=True)
        loss = losses.depth_loss(torch.exp(raw), g, "rel-l1")
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(raw.grad).all()
    assert losses.depth_loss(pred, torch.zeros_like(gt), "rel-l1").item() == 0


def test_normal_losses():
    gt = torch.zeros(1, 3, 1, 3)
    gt[0, 2, 0, 0] = 1  # +z
    gt[0, 0, 0, 1] = 1  # +x; pixel 2 has no normal
    pred = torch.zeros(1, 3, 1, 3)
    pred[0, 2, 0, 0] = 1
    pred[0, 2, 0, 1] = 1
    pred[0, 0, 0, 2] = 1
    assert losses.normal_loss(pred, gt, "cosine").item() == pytest.approx((0 + 1) / 2)
    assert losses.normal_loss(pred, gt).item() == pytest.approx((0 + math.pi / 2) / 2)  # angular: the default
    with pytest.raises(UsageError, match="normals_loss"):
        losses.normal_loss(pred, gt, "l3")


def test_angular_loss_gradient_does_not_fade():
    """Near the answer the angle's gradient keeps its size (the cosine loss's shrinks with the angle), through the
    normalisation the models apply to their raw normals, and it is finite where prediction and truth agree."""
    gt = torch.zeros(1, 3, 1, 2)
    gt[0, 2] = 1
    for angle in (0.2, 0.02):
        raw = torch.zeros(1, 3, 1, 2)
        raw[0, 0], raw[0, 2] = 2 * math.sin(angle), 2 * math.cos(angle)  # any length: the model normalises
        grads = {}
        for kind in ("angular", "cosine"):
            p = raw.clone().requires_grad_()
            loss = losses.normal_loss(torch.nn.functional.normalize(p, dim=1), gt, kind)
            loss.backward()
            grads[kind] = float(p.grad.norm())
            if kind == "angular":
                assert loss.item() == pytest.approx(angle, rel=1e-4)
        # |d angle / d n| = 1 per pixel on the unit sphere (halved by the length 2, averaged over 2 pixels)
        assert grads["angular"] == pytest.approx(2**-0.5 / 2, rel=1e-3)
        assert grads["cosine"] == pytest.approx(2**-0.5 / 2 * math.sin(angle), rel=1e-3)  # fades with the angle
    p = gt.clone().requires_grad_()
    losses.normal_loss(torch.nn.functional.normalize(p, dim=1), gt).backward()
    assert torch.isfinite(p.grad).all()


@pytest.mark.parametrize("name", ["unet", "fcn", "encoder-decoder", "deeplab"])
def test_models_predict_positive_depth_and_unit_normals(name):
    torch.manual_seed(0)
    model = models.build(name, True, (48, 64), {"depth_loss": "silog"}).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 48, 64))
    assert out.shape == (2, 4, 48, 64) and (out[:, 0] > 0).all()
    torch.testing.assert_close(out[:, 1:].norm(dim=1), torch.ones(2, 48, 64))
    assert model.loss_args == {"depth_loss": "silog"}
    assert models.build(name, False, (48, 64), {}).eval()(torch.randn(1, 3, 48, 64)).shape == (1, 1, 48, 64)
    with pytest.raises(UsageError, match="depth_loss"):
        models.build(name, True, (48, 64), {"depth_loss": "huber"})
    with pytest.raises(UsageError, match="normals_loss"):
        models.build(name, True, (48, 64), {"normals_loss": "huber"})


def test_depth_offset_starts_at_the_median_training_depth():
    torch.manual_seed(0)
    model = models.build("unet", True, (16, 16), {"width": 4, "depth": 2})
    net = model.net
    with torch.no_grad():  # a network whose raw output is 0 everywhere: depth = exp(offset)
        net.head.weight.zero_()
        net.head.bias.zero_()
    x = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(model.eval()(x)[:, 0], torch.ones(2, 16, 16))
    gt = torch.zeros(2, 1, 16, 16)
    gt[0, 0, :2, :2] = torch.tensor([[2.0, 3.0], [5.0, 7.0]])
    gt[1, 0, 0, 0] = 4.0  # median of the five valid depths (zeros are invalid): 4 m
    model.init_depth_offset(gt)
    torch.testing.assert_close(model(x)[:, 0], torch.full((2, 16, 16), 4.0))
    model.init_depth_offset(gt * 10)  # set once: later batches (and resumed runs) keep it
    assert float(model.depth_offset.exp()) == pytest.approx(4.0)
    fresh = models.build("unet", True, (16, 16), {"width": 4, "depth": 2})
    fresh.load_state_dict(model.state_dict())
    assert float(fresh.depth_offset.exp()) == pytest.approx(4.0) and bool(fresh.depth_offset_set)
    old = {k: v for k, v in model.state_dict().items() if not k.startswith("depth_offset")}
    fresh.load_state_dict(old)  # a checkpoint from before the offset: none
    assert float(fresh.depth_offset) == 0 and not bool(fresh.depth_offset_set)


def test_input_size_keeps_the_aspect_ratio():
    info = DatasetInfo("r", "depthfolder", "x", "train", [], {"image_size": [96, 128]})
    assert input_hw(ModelConfig("unet", 128), info) == (96, 128)
    assert input_hw(ModelConfig("unet", 64), info) == (48, 64)
    assert input_hw(ModelConfig("unet", 64, {"input_height": 32}), info) == (32, 64)


def test_records_round_trip(tmp_path):
    depth = np.array([[1.5, 2.25], [0.5, 9.0]], np.float32)
    normals = np.zeros((2, 2, 3), np.float32)
    normals[..., 2] = -1
    pred = {"depth": depth, "normals": normals, "source": "/x/a.png"}
    rec = records.record(pred, None, "png", set())
    assert rec["depth"]["median"] == pytest.approx(1.875) and "depth_png" not in rec
    assert not list(tmp_path.iterdir())
    taken: dict[str, set[str]] = {"png": set(), "npy": set()}
    for fmt in ("png", "npy"):
        rec = records.record(pred, tmp_path / fmt, fmt, taken[fmt])
        back = records.parse_record(rec)
        np.testing.assert_allclose(back["depth"], depth, atol=5e-4 if fmt == "png" else 0)
        np.testing.assert_allclose(back["normals"], normals, atol=4e-5 if fmt == "png" else 0)
    assert Path(records.record(pred, tmp_path / "png", "png", taken["png"])["depth_png"]).name == "a_2.png"
    with pytest.raises(ValueError, match="--save-depth"):
        records.parse_record({"size": [2, 2]})


def test_cli_train_eval_predict(tmp_path, monkeypatch):
    monkeypatch.setenv("CVKIT_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "rooms"
    cvkit("data", "make", "rooms", "--out", str(data), "--size", "8", check=True)
    run = tmp_path / "run"
    cvkit("train", "dense", "--data", f"depthfolder:{data}", "--model", "unet", "--model-arg", "width=4",
          "--model-arg", "depth=2", "--img-size", "32", "--epochs", "1", "--batch-size", "4", "--out", str(run),
          check=True, timeout=600)
    result = json.loads(cvkit("eval", "--weights", str(run / "last.pt"), "--json", check=True).stdout)
    assert result["primary"] == "delta1" and 0 <= result["metrics"]["delta1"] <= 1
    assert {"abs_rel", "rmse", "angle_median", "within_11.25"} <= set(result["metrics"])
    from cvkit.data import load_split
    from cvkit.plugin import get_task

    task = get_task("dense")  # the mean-map baseline, fitted in one pass (in process: no second CLI run)
    raw, val = load_split(task, f"depthfolder:{data}", "train"), load_split(task, f"depthfolder:{data}", "val")
    config = ModelConfig("mean-map", 32, {"augment": "none"})
    baseline = task.build_model(config, raw.info)
    train_set = task.dataset(raw, config, train=True)
    assert task.fit(baseline, iter([task.collate([train_set[i] for i in range(len(train_set))])]))
    maps = np.stack([train_set[i]["target"]["depth"].numpy() for i in range(8)])
    counts = (maps > 0).sum(0)
    assert counts.min() > 0  # no pixel is a window in all eight rooms
    assert baseline.depth[0].numpy() == pytest.approx(maps.sum(0) / counts, rel=1e-5)  # mean over valid pixels
    val_set = task.dataset(val, config, train=False)
    batch = task.collate([val_set[0]])
    batch.indices = [0]
    ev = task.evaluator(val.info)
    with torch.no_grad():
        ev.update([0], task.predict_step(baseline.eval(), batch), [val_set.target(0)])
    assert ev.compute()["abs_rel"] < 0.6
    images = sorted((data / "val" / "images").iterdir())
    vis = tmp_path / "vis"
    out = cvkit("predict", "--weights", str(run / "last.pt"), str(images[0]), "--save-vis", str(vis), check=True,
                cwd=tmp_path)
    rec = json.loads(out.stdout.splitlines()[0])
    assert rec["task"] == "dense" and rec["size"] == [96, 128] and rec["depth"]["min"] > 0
    assert "depth_png" not in rec and {p.name for p in tmp_path.iterdir()} <= {"cache", "rooms", "run", "vis"}
    saved = tmp_path / "depth"
    out = cvkit("predict", "--weights", str(run / "last.pt"), str(images[0]), "--task-arg", f"save-depth={saved}",
                "--task-arg", "depth-format=npy", check=True, cwd=tmp_path)
    rec = json.loads(out.stdout.splitlines()[0])
    depth = np.load(rec["depth_npy"])
    assert depth.shape == (96, 128) and float(np.median(depth)) == pytest.approx(rec["depth"]["median"], rel=1e-5)
    assert Path(rec["normals_npy"]).parent == saved
    import cv2

    drawn = cv2.imread(str(next(vis.iterdir())))
    assert drawn.shape == (96, 3 * 128, 3)
