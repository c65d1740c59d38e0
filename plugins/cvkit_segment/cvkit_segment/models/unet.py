"""U-Net (Ronneberger et al., 2015): a contracting path of double 3x3 convolutions and 2x2 max-pooling, an expanding
path that upsamples (bilinear interpolation, or a learned 2x2 transpose convolution with ``up=transpose``) and
concatenates the encoder map of the same resolution (skip connection) before two more convolutions.

``width`` (16) channels at full resolution, doubling per level over ``depth`` (4) levels: 16-32-64-128, 0.49M
parameters. Any input size works (decoder maps are resized to their skip's size).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cvkit.errors import UsageError
from cvkit_segment.models.blocks import double_conv, resize_to


class Up(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int, up: str, norm: str) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cin // 2, 2, stride=2) if up == "transpose" else None
        self.conv = double_conv((cin // 2 if self.up is not None else cin) + cskip, cout, norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        if self.up is not None:
            x = self.up(x)
            dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
            x = F.pad(x, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])
        else:
            x = resize_to(x, skip.shape[-2:])
        return self.conv(torch.cat([skip, x], 1))


class UNet(nn.Module):
    backbone_modules = ("down",)  # frozen by --freeze-backbone

    def __init__(self, num_classes: int, width: int = 16, depth: int = 4, up: str = "bilinear", norm: str = "bn"):
        super().__init__()
        if up not in ("bilinear", "transpose"):
            raise UsageError(f"up={up!r}: expected bilinear or transpose")
        if depth < 2:
            raise UsageError(f"depth={depth}: a U-Net needs at least 2 levels")
        widths = [width * 2**i for i in range(depth)]
        self.down = nn.ModuleList([double_conv(3, widths[0], norm)])
        self.down.extend(double_conv(a, b, norm) for a, b in zip(widths[:-1], widths[1:], strict=True))
        self.ups = nn.ModuleList(Up(widths[i + 1], widths[i], widths[i], up, norm) for i in reversed(range(depth - 1)))
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2, ceil_mode=True))
            skips.append(x)
        x = skips.pop()
        for up in self.ups:
            x = up(x, skips.pop())
        return self.head(x)


def build(num_classes: int, args: dict[str, Any], **_: Any) -> nn.Module:
    return UNet(num_classes, **args)
