"""SimpleBaseline (Xiao et al., ECCV 2018): a ResNet-style backbone, three deconvolutions and a 1x1 head.

The backbone is a small ResNet of BasicBlocks built for the input sizes we train here, so that the model
reaches useful accuracy in minutes on a CPU: a stride-1 stem, then one stage per halving, each starting with
a stride-2 block. The number of halvings is chosen so that ``deconvs`` stride-2 transposed convolutions bring
the features back to the heatmap ``stride`` (4 in the paper: 256x256 in, 64x64 heatmaps).

Arguments (``--model-arg``): ``width`` (stem channels; doubled per stage up to ``max_channels``), ``blocks``
(BasicBlocks per stage), ``deconvs``, ``deconv_channels``, ``stride`` (heatmap stride, a power of two).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_bn(cin, cout, 3, stride), conv_bn(cout, cout, 3, 1, relu=False))
        self.skip = nn.Identity() if stride == 1 and cin == cout else conv_bn(cin, cout, 1, stride, relu=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.skip(x))


def halvings(stride: int, deconvs: int) -> int:
    n = math.log2(stride)
    if stride < 1 or n != int(n):
        raise ValueError(f"stride must be a power of two, not {stride}")
    return int(n) + deconvs


class SimpleBaseline(nn.Module):
    def __init__(self, num_joints: int, stride: int = 4, deconvs: int = 3, width: int = 16, blocks: int = 1,
                 deconv_channels: int = 32, max_channels: int = 128) -> None:
        super().__init__()
        self.stride = int(stride)
        layers: list[nn.Module] = [conv_bn(3, width)]
        c = width
        for i in range(halvings(self.stride, deconvs)):
            cout = min(width * 2 ** (i + 1), max_channels)
            layers += [BasicBlock(c, cout, 2)] + [BasicBlock(cout, cout) for _ in range(blocks - 1)]
            c = cout
        self.backbone = nn.Sequential(*layers)
        ups: list[nn.Module] = []
        for _ in range(deconvs):
            ups += [nn.ConvTranspose2d(c, deconv_channels, 4, 2, 1, bias=False), nn.BatchNorm2d(deconv_channels),
                    nn.ReLU(inplace=True)]
            c = deconv_channels
        self.deconv = nn.Sequential(*ups)
        self.head = nn.Conv2d(c, num_joints, 1)
        for m in self.deconv.modules():
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.normal_(m.weight, std=0.001)
        nn.init.normal_(self.head.weight, std=0.001)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.deconv(self.backbone(x)))


def build(num_joints: int, img_size: int, args: dict) -> SimpleBaseline:
    return SimpleBaseline(num_joints, **args)
