"""A small HRNet-style network (Wang et al., 2019): instead of encoding down and decoding back up, it keeps a
high-resolution branch (stride 4) all the way and adds lower-resolution branches (strides 8, 16, 32) stage by stage;
after every stage each branch receives the sum of all branches brought to its resolution (1x1 convolution + bilinear
upsampling from below, strided 3x3 convolutions from above): repeated multi-resolution fusion.

The head (HRNetV2) upsamples every branch to stride 4, concatenates them, mixes them with a 1x1 convolution and
scores the classes, then upsamples the logits to the input. ``width`` (16) channels on the stride-4 branch, doubling
per branch; ``blocks`` (2) residual blocks per branch and stage.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cvkit_segment.models.blocks import conv_norm_act, norm_layer, resize_to


class BasicBlock(nn.Module):
    def __init__(self, c: int, norm: str) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_norm_act(c, c, norm=norm), nn.Conv2d(c, c, 3, 1, 1, bias=False),
                                  norm_layer(norm, c))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class Fuse(nn.Module):
    """Output ``j`` = sum over inputs ``i`` of input ``i`` brought to the resolution and width of branch ``j``."""

    def __init__(self, widths: list[int], norm: str) -> None:
        super().__init__()
        self.paths = nn.ModuleList()
        for j, cj in enumerate(widths):
            row = nn.ModuleList()
            for i, ci in enumerate(widths):
                if i == j:
                    row.append(nn.Identity())
                elif i > j:  # lower resolution: match width, upsample in forward
                    row.append(nn.Sequential(nn.Conv2d(ci, cj, 1, bias=False), norm_layer(norm, cj)))
                else:  # higher resolution: j - i strided convolutions
                    steps: list[nn.Module] = [conv_norm_act(ci, ci, stride=2, norm=norm) for _ in range(j - i - 1)]
                    steps += [nn.Conv2d(ci, cj, 3, 2, 1, bias=False), norm_layer(norm, cj)]
                    row.append(nn.Sequential(*steps))
            self.paths.append(row)
        self.act = nn.ReLU(inplace=True)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        for j, row in enumerate(self.paths):
            y = xs[j]
            for i, path in enumerate(row):
                if i != j:
                    y = y + resize_to(path(xs[i]), xs[j].shape[-2:])
            out.append(self.act(y))
        return out


class Stage(nn.Module):
    def __init__(self, widths: list[int], blocks: int, norm: str) -> None:
        super().__init__()
        self.branches = nn.ModuleList(nn.Sequential(*[BasicBlock(c, norm) for _ in range(blocks)]) for c in widths)
        self.fuse = Fuse(widths, norm) if len(widths) > 1 else None

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [b(x) for b, x in zip(self.branches, xs, strict=True)]
        return self.fuse(xs) if self.fuse is not None else xs


class HRNetSmall(nn.Module):
    backbone_modules = ("stem", "stages", "transitions")  # frozen by --freeze-backbone

    def __init__(self, num_classes: int, width: int = 16, branches: int = 4, blocks: int = 2, norm: str = "bn"):
        super().__init__()
        self.widths = [width * 2**k for k in range(branches)]
        self.stem = nn.Sequential(conv_norm_act(3, 2 * width, stride=2, norm=norm),
                                  conv_norm_act(2 * width, width, stride=2, norm=norm))
        self.stages = nn.ModuleList()
        self.transitions = nn.ModuleList()
        for n in range(1, branches + 1):
            if n > 1:  # a new, lower-resolution branch from the lowest existing one
                self.transitions.append(conv_norm_act(self.widths[n - 2], self.widths[n - 1], stride=2, norm=norm))
            self.stages.append(Stage(self.widths[:n], blocks, norm))
        total = sum(self.widths)
        self.head = nn.Sequential(conv_norm_act(total, total, 1, norm=norm), nn.Conv2d(total, num_classes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        xs = [self.stem(x)]
        for n, stage in enumerate(self.stages):
            if n > 0:
                xs = xs + [self.transitions[n - 1](xs[-1])]
            xs = stage(xs)
        top = xs[0].shape[-2:]
        y = torch.cat([resize_to(t, top) for t in xs], 1)
        return resize_to(self.head(y), size)


def build(num_classes: int, args: dict[str, Any], **_: Any) -> nn.Module:
    return HRNetSmall(num_classes, **args)
