"""An encoder-decoder with learnable upsampling, as taught after FCN (DeconvNet, Noh et al. 2015; SegNet,
Badrinarayanan et al. 2015): the encoder downsamples with 2x2 max-pooling and remembers where each maximum was;
the decoder mirrors it, upsampling each stage by max-unpooling (values go back to the remembered positions, zeros
elsewhere) and densifying the sparse map with 3x3 transpose convolutions ("deconvolution").

``up=transpose`` replaces unpooling with a learnt stride-2 transpose convolution. ``widths`` 16-32-64-128.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cvkit.errors import UsageError
from cvkit_segment.models.blocks import double_conv, norm_layer


def deconv_block(cin: int, cout: int, norm: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in ((cin, cin), (cin, cout)):
        layers += [nn.ConvTranspose2d(a, b, 3, stride=1, padding=1, bias=False), norm_layer(norm, b),
                   nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class EncoderDecoder(nn.Module):
    backbone_modules = ("encoder",)  # frozen by --freeze-backbone

    def __init__(self, num_classes: int, widths: tuple[int, ...] = (16, 32, 64, 128), up: str = "unpool",
                 norm: str = "bn") -> None:
        super().__init__()
        if up not in ("unpool", "transpose"):
            raise UsageError(f"up={up!r}: expected unpool or transpose")
        self.up = up
        chans = [3, *widths]
        self.encoder = nn.ModuleList(double_conv(a, b, norm) for a, b in zip(chans[:-1], chans[1:], strict=True))
        outs = [widths[0], *widths[:-1]]  # decoder stage k maps widths[k] -> widths[k-1] (the first keeps its width)
        self.decoder = nn.ModuleList(deconv_block(widths[k], outs[k], norm) for k in range(len(widths)))
        self.upconv = nn.ModuleList(nn.ConvTranspose2d(w, w, 2, stride=2) for w in widths) if up == "transpose" \
            else None
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        trail = []
        for stage in self.encoder:
            x = stage(x)
            size = x.shape[-2:]
            x, idx = F.max_pool2d(x, 2, ceil_mode=True, return_indices=True)
            trail.append((size, idx))
        for k in reversed(range(len(self.decoder))):
            size, idx = trail[k]
            if self.upconv is None:
                x = F.max_unpool2d(x, idx, 2, output_size=size)
            else:
                x = self.upconv[k](x)[..., : size[0], : size[1]]
                x = F.pad(x, [0, size[1] - x.shape[-1], 0, size[0] - x.shape[-2]])
            x = self.decoder[k](x)
        return self.head(x)


def build(num_classes: int, args: dict[str, Any], **_: Any) -> nn.Module:
    if "widths" in args:
        args = {**args, "widths": tuple(int(w) for w in args["widths"])}
    return EncoderDecoder(num_classes, **args)
