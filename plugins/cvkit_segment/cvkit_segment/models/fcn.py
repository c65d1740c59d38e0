"""FCN (Long, Shelhamer & Darrell, 2015): a classification-style backbone made fully convolutional, a 1x1
convolution that scores every class at every location, and upsampling back to the input size.

The backbone is a small VGG-like stack of five stages (two 3x3 convolutions, then 2x2 max-pooling; ``widths``
16-32-64-128-128), followed by a 3x3 "fc6" and 1x1 "fc7" convolution at stride 32. ``variant``:

- ``32s``: the stride-32 scores upsampled straight to the input (bilinear);
- ``16s``: the stride-32 scores upsampled x2 by a transpose convolution (initialised to bilinear, learnt), added to
  1x1 scores of pool4 (stride 16), then upsampled;
- ``8s`` (default): the same once more with pool3 (stride 8), as the paper's best model.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cvkit.errors import UsageError
from cvkit_segment.models.blocks import conv_norm_act, double_conv, resize_to


def bilinear_kernel(channels: int, k: int) -> torch.Tensor:
    """Weights of a ``k x k`` transpose convolution that performs bilinear upsampling channel by channel."""
    factor = (k + 1) // 2
    centre = factor - 1 if k % 2 == 1 else factor - 0.5
    og = torch.arange(k, dtype=torch.float32)
    filt = 1 - (og - centre).abs() / factor
    kernel = filt[:, None] * filt[None, :]
    w = torch.zeros(channels, channels, k, k)
    w[range(channels), range(channels)] = kernel
    return w


def upsample2x(channels: int) -> nn.ConvTranspose2d:
    up = nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1, bias=False)
    with torch.no_grad():
        up.weight.copy_(bilinear_kernel(channels, 4))
    return up


class FCN(nn.Module):
    backbone_modules = ("stages",)  # frozen by --freeze-backbone

    def __init__(self, num_classes: int, variant: str = "8s", widths: tuple[int, ...] = (16, 32, 64, 128, 128),
                 fc: int = 256, norm: str = "bn") -> None:
        super().__init__()
        if variant not in ("32s", "16s", "8s"):
            raise UsageError(f"variant={variant!r}: expected 32s, 16s or 8s")
        if len(widths) != 5:
            raise UsageError(f"widths={list(widths)}: FCN needs five stage widths")
        self.variant = variant
        chans = [3, *widths]
        self.stages = nn.ModuleList(double_conv(a, b, norm) for a, b in zip(chans[:-1], chans[1:], strict=True))
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.fc = nn.Sequential(conv_norm_act(widths[-1], fc, 3, norm=norm), conv_norm_act(fc, fc, 1, norm=norm),
                                nn.Dropout2d(0.1))
        self.score = nn.Conv2d(fc, num_classes, 1)
        self.score_pool4 = nn.Conv2d(widths[3], num_classes, 1) if variant in ("16s", "8s") else None
        self.score_pool3 = nn.Conv2d(widths[2], num_classes, 1) if variant == "8s" else None
        self.up32 = upsample2x(num_classes) if self.score_pool4 is not None else None
        self.up16 = upsample2x(num_classes) if self.score_pool3 is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        pools = []
        for stage in self.stages:
            x = self.pool(stage(x))
            pools.append(x)
        y = self.score(self.fc(x))
        if self.score_pool4 is not None:
            p4 = self.score_pool4(pools[3])
            y = resize_to(self.up32(y), p4.shape[-2:]) + p4
        if self.score_pool3 is not None:
            p3 = self.score_pool3(pools[2])
            y = resize_to(self.up16(y), p3.shape[-2:]) + p3
        return resize_to(y, size)


def build(num_classes: int, args: dict[str, Any], **_: Any) -> nn.Module:
    if "widths" in args:
        args = {**args, "widths": tuple(int(w) for w in args["widths"])}
    return FCN(num_classes, **args)
