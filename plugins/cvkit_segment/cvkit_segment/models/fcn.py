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

from torch import nn

from cvkit.nn.encoder_decoder import FCN, bilinear_kernel, upsample2x

__all__ = ["FCN", "bilinear_kernel", "build", "upsample2x"]


def build(num_classes: int, args: dict[str, Any], **_: Any) -> nn.Module:
    if "widths" in args:
        args = {**args, "widths": tuple(int(w) for w in args["widths"])}
    return FCN(num_classes, **args)
