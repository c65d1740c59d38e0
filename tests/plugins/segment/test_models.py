"""Every model builds, takes a training step (batch 2 and batch 1) and predicts at the original image size."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from cvkit.task import Batch, DatasetInfo, ModelConfig
from cvkit_segment.models import MODELS, TORCHVISION
from cvkit_segment.models.blocks import SafeBatchNorm2d

INFO = DatasetInfo("t", "voc", "voc:t", "train", ["background", "a", "b"])
OWN = [m for m in MODELS if m not in TORCHVISION]


def batch(n: int, size: int, sizes=None) -> Batch:
    g = torch.Generator().manual_seed(n)
    targets = torch.randint(0, 3, (n, size, size), generator=g)
    targets[:, 0] = 255  # a void row
    sizes = sizes or [(size, size)] * n
    meta = [{"source": f"{i}.png", "orig_size": s, "input_size": (size, size)} for i, s in enumerate(sizes)]
    return Batch(torch.randn(n, 3, size, size, generator=g), targets, list(range(n)), meta)


def run(task, name: str, size: int, args: dict | None = None) -> None:
    torch.manual_seed(0)
    model = task.build_model(ModelConfig(name, size, args or {}), INFO)
    assert not any(type(m) is nn.BatchNorm2d for m in model.modules())  # all guarded
    model.train()
    for n in (2, 1):
        out = task.train_step(model, batch(n, size))
        assert math.isfinite(float(out["loss"].detach())) and float(out["loss"].detach()) > 0
        out["loss"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    model.eval()
    with torch.no_grad():
        preds = task.predict_step(model, batch(2, size, sizes=[(size + 7, size - 3), (5, 9)]))
    assert preds[0]["labels"].shape == (size + 7, size - 3) and preds[1]["labels"].shape == (5, 9)
    assert int(preds[0]["labels"].max()) < 3


@pytest.mark.parametrize("name", OWN)
def test_own_models(task, name):
    run(task, name, 32)


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_models(task, name):
    run(task, name, 16)


@pytest.mark.parametrize("name,args", [("unet", {"up": "transpose", "norm": "gn"}), ("fcn", {"variant": "32s"}),
                                       ("fcn", {"variant": "16s"}), ("encoder-decoder", {"up": "transpose"})])
def test_variants(task, name, args):
    run(task, name, 24)


def test_aux_loss_is_weighted(task):
    torch.manual_seed(0)
    model = task.build_model(ModelConfig("deeplabv3_mobilenet_v3_large", 32), INFO)
    model.train()
    out = task.train_step(model, batch(2, 32))
    assert out["loss"].item() == pytest.approx(float(out["loss_out"]) + 0.5 * float(out["loss_aux"]), rel=1e-5)


def test_batchnorm_guard_on_single_value():
    bn = SafeBatchNorm2d(4).train()
    y = bn(torch.randn(1, 4, 1, 1))
    assert torch.isfinite(y).all() and bn.num_batches_tracked == 0
    bn(torch.randn(2, 4, 1, 1))
    assert bn.num_batches_tracked == 1


def test_all_void_batch_has_zero_loss(task):
    model = task.build_model(ModelConfig("unet", 16, {"width": 4, "depth": 2}), INFO).train()
    b = batch(1, 16)
    b.targets[:] = 255
    loss = task.train_step(model, b)["loss"]
    assert float(loss) == 0.0
    loss.backward()


def test_unknown_model_and_bad_args(task):
    from cvkit.errors import UsageError

    with pytest.raises(UsageError, match="unknown segmentation model"):
        task.build_model(ModelConfig("nope", 32), INFO)
    with pytest.raises(UsageError, match="bad arguments"):
        task.build_model(ModelConfig("unet", 32, {"colour": 3}), INFO)
    with pytest.raises(UsageError, match="up="):
        task.build_model(ModelConfig("unet", 32, {"up": "nearest"}), INFO)


@pytest.mark.parametrize("name", ["unet", "lraspp_mobilenet_v3_large"])
def test_freeze_backbone_keeps_decoder_and_head(task, name):
    model = task.build_model(ModelConfig(name, 32), INFO)
    task.freeze_backbone(model)
    net = getattr(model, "net", model)
    encoder = net.down if name == "unet" else net.backbone
    assert not any(p.requires_grad for p in encoder.parameters())
    head = net.head if name == "unet" else net.classifier
    assert all(p.requires_grad for p in head.parameters())
