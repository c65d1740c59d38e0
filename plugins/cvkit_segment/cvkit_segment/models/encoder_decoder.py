"""An encoder-decoder with learnable upsampling, as taught after FCN (DeconvNet, Noh et al. 2015; SegNet,
Badrinarayanan et al. 2015): the encoder downsamples with 2x2 max-pooling and remembers where each maximum was;
the decoder mirrors it, upsampling each stage by max-unpooling (values go back to the remembered positions, zeros
elsewhere) and densifying the sparse map with 3x3 transpose convolutions ("deconvolution").

``up=transpose`` replaces unpooling with a learnt stride-2 transpose convolution. ``widths`` 16-32-64-128.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from cvkit.nn.encoder_decoder import EncoderDecoder

__all__ = ["EncoderDecoder", "build"]


def build(num_classes: int, args: dict[str, Any], **_: Any) -> nn.Module:
    if "widths" in args:
        args = {**args, "widths": tuple(int(w) for w in args["widths"])}
    return EncoderDecoder(num_classes, **args)
