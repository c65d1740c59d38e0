"""Building blocks of the dense-prediction networks, and the BatchNorm guard that makes batch size 1 train.

A BatchNorm layer in training mode cannot normalise a tensor with one value per channel (batch size 1 on a 1x1 map,
e.g. DeepLab's image-pooling branch or the bottleneck of a small input): PyTorch raises. :class:`SafeBatchNorm2d`
normalises such a tensor with the running statistics instead (and leaves them unchanged); every other call is plain
BatchNorm. :func:`guard_batchnorm` swaps it in for the ``BatchNorm2d`` layers of any model, keeping the state dict.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cvkit.errors import UsageError

__all__ = ["SafeBatchNorm2d", "conv_norm_act", "double_conv", "guard_batchnorm", "norm_layer", "resize_to"]


class SafeBatchNorm2d(nn.BatchNorm2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.running_mean is not None and x.shape[0] * x.shape[2] * x.shape[3] == 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return super().forward(x)


def guard_batchnorm(model: nn.Module) -> nn.Module:
    """Make every plain ``BatchNorm2d`` of ``model`` a :class:`SafeBatchNorm2d` (in place; returns ``model``)."""
    for m in model.modules():
        if type(m) is nn.BatchNorm2d:
            m.__class__ = SafeBatchNorm2d
    return model


def norm_layer(kind: str, channels: int) -> nn.Module:
    """``bn``: BatchNorm (guarded); ``gn``: GroupNorm with groups of at most 8 channels (batch-size independent)."""
    if kind == "bn":
        return SafeBatchNorm2d(channels)
    if kind == "gn":
        return nn.GroupNorm(max(1, channels // 8), channels)
    raise UsageError(f"norm={kind!r}: expected bn or gn")


def conv_norm_act(cin: int, cout: int, k: int = 3, stride: int = 1, norm: str = "bn", dilation: int = 1
                  ) -> nn.Sequential:
    pad = dilation * (k // 2)
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, pad, dilation=dilation, bias=False), norm_layer(norm, cout),
                         nn.ReLU(inplace=True))


def double_conv(cin: int, cout: int, norm: str = "bn") -> nn.Sequential:
    return nn.Sequential(conv_norm_act(cin, cout, norm=norm), conv_norm_act(cout, cout, norm=norm))


def resize_to(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Bilinear resize of a feature or logit map to ``size`` (a no-op when it already has it)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)
