"""I3D (Carreira & Zisserman, 2017): a 2D image network inflated into a 3D video network.

Every ``k x k`` convolution (k > 1) becomes a ``t x k x k`` one whose kernel is the 2D kernel repeated t times
along time and divided by t (``time_kernel``, default 3); 1x1 convolutions become 1x1x1; BatchNorm keeps its
statistics; pooling keeps its spatial extent (time is pooled only at the end, by the global average). Time is
padded by repeating the edge frames, so on a static clip (one image repeated) every frame of every feature map
equals the 2D network's map and the logits equal the 2D network's logits exactly (a "boring video" fixed point).

What is inflated (``--model-arg``):

- ``inflate=CKPT``: a cvkit 2D image checkpoint (e.g. from ``cvkit train classify``); its classifier is replaced
  when the class count differs. The file must stay readable: the model is rebuilt from it when loaded.
- ``--pretrained``: torchvision's ImageNet weights of ``base`` (default resnet18) from the torch hub cache.
- otherwise ``base``: ``frame-cnn`` (default: the small per-frame CNN of the fusion models, ``width`` 16) or any
  torchvision classification model name, randomly initialised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from cvkit.errors import CvkitError, UsageError
from cvkit_video.models.blocks import FrameTrunk, TimePaddedConv3d, init_weights


class InflatedConv(nn.Module):
    """A ``Conv3d`` with ``(t, k, k)`` kernels whose time padding repeats the edge frames."""

    def __init__(self, conv2d: nn.Conv2d, time_kernel: int) -> None:
        super().__init__()
        kh, kw = conv2d.kernel_size
        t = time_kernel if max(kh, kw) > 1 else 1
        if isinstance(conv2d.padding, str):
            raise UsageError(f"cannot inflate a convolution with padding={conv2d.padding!r}")
        self.conv = TimePaddedConv3d(conv2d.in_channels, conv2d.out_channels, (t, kh, kw), (1, *conv2d.stride),
                                     conv2d.padding, conv2d.dilation, conv2d.groups, conv2d.bias is not None)
        with torch.no_grad():
            self.conv.weight.copy_(conv2d.weight.unsqueeze(2).repeat(1, 1, t, 1, 1) / t)
            if conv2d.bias is not None:
                self.conv.bias.copy_(conv2d.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class FlattenOverTime(nn.Module):
    """``nn.Flatten`` after a 3D feature map: average over time first (a no-op on a pooled, one-frame map)."""

    def __init__(self, start_dim: int) -> None:
        super().__init__()
        self.start_dim = start_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.mean(2) if x.dim() == 5 else x).flatten(self.start_dim)


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _inflate_module(m: nn.Module, time_kernel: int) -> nn.Module | None:
    if isinstance(m, nn.Conv2d):
        return InflatedConv(m, time_kernel)
    if isinstance(m, nn.BatchNorm2d):
        bn = nn.BatchNorm3d(m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats)
        bn.load_state_dict(m.state_dict())
        return bn
    if isinstance(m, nn.MaxPool2d):
        return nn.MaxPool3d((1, *_pair(m.kernel_size)), (1, *_pair(m.stride)), (0, *_pair(m.padding)),
                            (1, *_pair(m.dilation)), ceil_mode=m.ceil_mode)
    if isinstance(m, nn.AvgPool2d):
        return nn.AvgPool3d((1, *_pair(m.kernel_size)), (1, *_pair(m.stride)), (0, *_pair(m.padding)),
                            m.ceil_mode, m.count_include_pad)
    if isinstance(m, nn.AdaptiveAvgPool2d):
        return nn.AdaptiveAvgPool3d((1, *_pair(m.output_size)))
    if isinstance(m, nn.Flatten):
        return FlattenOverTime(m.start_dim)
    if type(m).__name__.endswith("2d"):
        raise UsageError(f"cannot inflate {type(m).__name__} to 3D (I3D inflates Conv2d, BatchNorm2d, pooling)")
    return None


def inflate_2d(model: nn.Module, time_kernel: int = 3) -> nn.Module:
    """Inflate a 2D network in place (and return it): its forward then takes ``(N, C, T, H, W)`` clips."""
    if time_kernel < 1:
        raise UsageError(f"time_kernel={time_kernel}: at least 1")
    for name, child in list(model.named_children()):
        new = _inflate_module(child, time_kernel)
        if new is None:
            inflate_2d(child, time_kernel)
        else:
            setattr(model, name, new)
    return model


def _last_linear(model: nn.Module) -> tuple[nn.Module, str, nn.Linear]:
    found = None
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.Linear):
                found = (parent, name, child)
    if found is None:
        raise UsageError("the 2D network has no Linear classifier to replace")
    return found


def set_classes(model: nn.Module, num_classes: int) -> nn.Module:
    parent, name, old = _last_linear(model)
    if old.out_features != num_classes:
        setattr(parent, name, nn.Linear(old.in_features, num_classes))
    return model


def base_2d(num_classes: int, base: str, pretrained: bool, inflate_from: str | None, width: int) -> nn.Module:
    """The 2D network to inflate (see the module docstring)."""
    if inflate_from:
        from cvkit.checkpoint import load_model

        path = Path(inflate_from).expanduser()
        if not path.is_file():
            raise CvkitError(f"inflate={inflate_from}: no such checkpoint")
        _, model, _ = load_model(path, "cpu")
        return set_classes(model.train(), num_classes)
    if base == "frame-cnn":
        if pretrained:
            raise UsageError("--pretrained inflates a torchvision network: add --model-arg base=resnet18 (or another)")
        trunk = FrameTrunk(3, width)
        return init_weights(nn.Sequential(trunk, nn.Linear(trunk.dim, num_classes)))
    import torchvision

    if base not in torchvision.models.list_models(module=torchvision.models):
        raise UsageError(f"base={base!r}: not a torchvision classification model")
    if pretrained:
        weights = torchvision.models.get_model_weights(base).DEFAULT
        cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
        if not cached.exists():
            raise CvkitError(f"--pretrained i3d: {base} weights not in the local torch hub cache; place "
                             f"{Path(weights.url).name} (from {weights.url}) at {cached}")
        return set_classes(torchvision.models.get_model(base, weights=weights), num_classes)
    return torchvision.models.get_model(base, weights=None, num_classes=num_classes)


def i3d(num_classes: int, pretrained: bool = False, base: str | None = None, inflate: str | None = None,
        time_kernel: int = 3, width: int = 16) -> nn.Module:
    """``inflate`` here is the ``--model-arg inflate=CKPT`` path (see the module docstring)."""
    name = base or ("resnet18" if pretrained else "frame-cnn")
    return inflate_2d(base_2d(num_classes, name, pretrained, inflate, int(width)), int(time_kernel))
