"""Stacked hourglass networks (Newell et al., ECCV 2016) with intermediate supervision.

A stem brings the input to the heatmap ``stride`` (4 in the paper: 256x256 in, 64x64 heatmaps); each hourglass
pools ``depth`` times and upsamples back with a skip branch at every scale; every stack predicts heatmaps, and
all but the last feed them back (1x1 convolutions) into the next stack. In training the model returns the list of
every stack's heatmaps (each one is supervised); in evaluation only the last.

Arguments (``--model-arg``): ``stacks``, ``depth``, ``channels``, ``stride`` (1, 2 or 4).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class Residual(nn.Module):
    """Pre-activation bottleneck (BN-ReLU-conv 1x1, 3x3, 1x1) with a 1x1 projection when channels change."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        mid = max(1, cout // 2)
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.Conv2d(cin, mid, 1),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True), nn.Conv2d(mid, mid, 3, padding=1),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True), nn.Conv2d(mid, cout, 1),
        )
        self.skip = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.skip(x)


class Hourglass(nn.Module):
    def __init__(self, depth: int, channels: int) -> None:
        super().__init__()
        self.up = Residual(channels, channels)
        self.down = Residual(channels, channels)
        self.inner = Hourglass(depth - 1, channels) if depth > 1 else Residual(channels, channels)
        self.out = Residual(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.out(self.inner(self.down(F.max_pool2d(x, 2))))
        return self.up(x) + F.interpolate(low, size=x.shape[-2:], mode="nearest")


class StackedHourglass(nn.Module):
    def __init__(self, num_joints: int, stacks: int = 2, depth: int = 4, channels: int = 64, stride: int = 4) -> None:
        super().__init__()
        if stride not in (1, 2, 4):
            raise ValueError(f"stride must be 1, 2 or 4, not {stride}")
        self.stride = int(stride)
        c = channels
        stem: list[nn.Module] = [nn.Conv2d(3, c // 2, 7, 2 if stride > 1 else 1, 3), nn.BatchNorm2d(c // 2),
                                 nn.ReLU(inplace=True), Residual(c // 2, c)]
        if stride == 4:
            stem.append(nn.MaxPool2d(2))
        stem.append(Residual(c, c))
        self.stem = nn.Sequential(*stem)
        self.hourglasses = nn.ModuleList(Hourglass(depth, c) for _ in range(stacks))
        self.features = nn.ModuleList(
            nn.Sequential(Residual(c, c), nn.Conv2d(c, c, 1), nn.BatchNorm2d(c), nn.ReLU(inplace=True))
            for _ in range(stacks)
        )
        self.heads = nn.ModuleList(nn.Conv2d(c, num_joints, 1) for _ in range(stacks))
        self.merge_features = nn.ModuleList(nn.Conv2d(c, c, 1) for _ in range(stacks - 1))
        self.merge_heatmaps = nn.ModuleList(nn.Conv2d(num_joints, c, 1) for _ in range(stacks - 1))
        for head in self.heads:  # start near the all-zero heatmap, as SimpleBaseline does
            nn.init.normal_(head.weight, std=0.001)
            nn.init.zeros_(head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        x = self.stem(x)
        outputs = []
        for i, (hg, feat, head) in enumerate(zip(self.hourglasses, self.features, self.heads, strict=True)):
            f = feat(hg(x))
            hm = head(f)
            outputs.append(hm)
            if i < len(self.merge_features):
                x = x + self.merge_features[i](f) + self.merge_heatmaps[i](hm)
        return outputs if self.training else outputs[-1]


def build(num_joints: int, img_size: int, args: dict) -> StackedHourglass:
    return StackedHourglass(num_joints, **args)
