"""A small residual CNN (``conv_bn``, ``ResBlock``) with an FPN-style top-down merge (``SmallFPN``): the trunk of
the detection plugin's CenterNet and YOLO grid and of the instance plugin's small Mask R-CNN."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn(cin: int, cout: int, stride: int = 1, k: int = 3) -> nn.Sequential:
    conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ResBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = conv_bn(c, c)
        self.conv2 = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.conv2(self.conv1(x)))


class SmallFPN(nn.Module):
    """Stages at strides 4, 8, 16, 32 (``widths``), merged top-down into one ``out_channels`` map at ``out_stride``."""

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 256), out_channels: int = 64, out_stride: int = 4):
        super().__init__()
        w4, w8, w16, w32 = widths
        self.stem = nn.Sequential(conv_bn(3, 24, 2), conv_bn(24, w4, 2), ResBlock(w4))
        self.stages = nn.ModuleList([
            nn.Sequential(conv_bn(w4, w8, 2), ResBlock(w8)),
            nn.Sequential(conv_bn(w8, w16, 2), ResBlock(w16)),
            nn.Sequential(conv_bn(w16, w32, 2), ResBlock(w32)),
        ])
        levels = {4: 0, 8: 1, 16: 2, 32: 3}
        self.first = levels[out_stride]
        self.lateral = nn.ModuleList(nn.Conv2d(w, out_channels, 1) for w in widths[self.first:])
        self.smooth = conv_bn(out_channels, out_channels)
        self.out_channels = out_channels
        self.stride = out_stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [self.stem(x)]
        for stage in self.stages:
            feats.append(stage(feats[-1]))
        feats = feats[self.first:]
        y = self.lateral[-1](feats[-1])
        for lat, f in zip(reversed(self.lateral[:-1]), reversed(feats[:-1]), strict=True):
            y = lat(f) + F.interpolate(y, size=f.shape[-2:], mode="nearest")
        return self.smooth(y)
