"""I3D inflation: on a static clip the inflated network gives the 2D network's output exactly, for torchvision's
ResNet-18, the small frame CNN and a cvkit classify checkpoint; the kernels are the 2D kernels repeated / t."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from cvkit.errors import CvkitError, UsageError
from cvkit_video import models
from cvkit_video.models.i3d import InflatedConv, inflate_2d


def _static(image: torch.Tensor, frames: int) -> torch.Tensor:
    return image.unsqueeze(2).expand(-1, -1, frames, -1, -1).contiguous()


def _randomise_bn(model: nn.Module) -> None:
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


@pytest.mark.parametrize("frames,time_kernel", [(3, 3), (2, 5)])
def test_resnet18_static_clip_equals_2d(frames, time_kernel):
    import torchvision

    torch.manual_seed(0)
    net2d = torchvision.models.resnet18(weights=None, num_classes=7).eval()
    _randomise_bn(net2d)
    net3d = inflate_2d(copy.deepcopy(net2d), time_kernel).eval()
    image = torch.randn(1, 3, 32, 40)
    with torch.no_grad():
        y2, y3 = net2d(image), net3d(_static(image, frames))
    torch.testing.assert_close(y3, y2, rtol=1e-5, atol=1e-5)
    moving = _static(image, frames)
    moving[:, :, -1] = torch.randn_like(moving[:, :, -1])
    with torch.no_grad():
        assert not torch.allclose(net3d(moving), y2, atol=1e-3)  # it does look at time


def test_kernels_repeated_and_divided():
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=True)
    inflated = InflatedConv(conv, 3)
    assert inflated.conv.weight.shape == (4, 3, 3, 3, 3) and inflated.conv.stride == (1, 2, 2)
    for t in range(3):
        torch.testing.assert_close(inflated.conv.weight[:, :, t], conv.weight / 3, rtol=0, atol=0)
    torch.testing.assert_close(inflated.conv.weight.sum(2), conv.weight, rtol=1e-6, atol=1e-7)
    assert InflatedConv(nn.Conv2d(3, 4, 1), 3).conv.kernel_size == (1, 1, 1)


def test_frame_cnn_default_and_unsupported_layers():
    torch.manual_seed(0)
    model = models.build("i3d", 8, 32, {"frames": 8}, False).eval()
    assert model.clip_shape == (3, 8)
    with torch.no_grad():
        assert model(torch.randn(2, 3, 8, 32, 32)).shape == (2, 8)
    with pytest.raises(UsageError, match="cannot inflate InstanceNorm2d"):
        inflate_2d(nn.Sequential(nn.Conv2d(3, 3, 3), nn.InstanceNorm2d(3)))
    with pytest.raises(UsageError, match="base=resnet18"):
        models.build("i3d", 8, 32, {"base": "frame-cnn"}, True)


def test_pretrained_needs_the_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(CvkitError, match="resnet18-f37072fd.pth"):
        models.build("i3d", 8, 32, {"base": "resnet18"}, True)


def test_inflate_a_classify_checkpoint(tmp_path):
    """A real cvkit checkpoint of the classify task (written through the core's checkpoint API; its BatchNorm-free
    CNN gets random weights), inflated through ``--model-arg inflate=CKPT``."""
    from cvkit.checkpoint import Checkpoint, load_model, save_checkpoint
    from cvkit.plugin import get_task
    from cvkit.task import DatasetInfo, ModelConfig

    task = get_task("classify")
    info = DatasetInfo("digits", "imagefolder", "imagefolder:x", "train", [str(i) for i in range(10)])
    config = ModelConfig("sample-cnn", 16)
    torch.manual_seed(0)
    net = task.build_model(config, info)
    path = tmp_path / "classify.pt"
    save_checkpoint(Checkpoint("classify", config, info, net.state_dict()), path)
    _, net2d, _ = load_model(path)
    video = models.build("i3d", 10, 16, {"inflate": str(path)}, False).eval()
    image = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(video(_static(image, 4)), net2d(image), rtol=1e-5, atol=1e-5)
    fewer = models.build("i3d", 3, 16, {"inflate": str(path)}, False)
    assert fewer.eval()(_static(image, 4)).shape == (3, 3)
    with pytest.raises(CvkitError, match="no such checkpoint"):
        models.build("i3d", 3, 16, {"inflate": str(tmp_path / "missing.pt")}, False)
