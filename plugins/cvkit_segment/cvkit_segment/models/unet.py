"""U-Net (Ronneberger et al., 2015): a contracting path of double 3x3 convolutions and 2x2 max-pooling, an expanding
path that upsamples (bilinear interpolation, or a learned 2x2 transpose convolution with ``up=transpose``) and
concatenates the encoder map of the same resolution (skip connection) before two more convolutions.

``width`` (16) channels at full resolution, doubling per level over ``depth`` (4) levels: 16-32-64-128, 0.49M
parameters. Any input size works (decoder maps are resized to their skip's size).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from cvkit.nn.encoder_decoder import UNet

__all__ = ["UNet", "build"]


def build(num_classes: int, args: dict[str, Any], **_: Any) -> nn.Module:
    return UNet(num_classes, **args)
