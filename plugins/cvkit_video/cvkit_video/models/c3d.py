"""3D CNNs: a small C3D-style network (3x3x3 convolutions throughout) and the non-local block (Wang et al., 2018)."""

from __future__ import annotations

import torch
from torch import nn

from cvkit_video.models.blocks import Classifier, conv3d, init_weights


class NonLocalBlock(nn.Module):
    """Embedded-Gaussian non-local block: every position attends to every other one in space and time.

    ``x + W(softmax(theta(x)^T phi(x)) g(x))`` with 1x1x1 convolutions to ``channels // 2``; the output
    BatchNorm starts at zero so that the block starts as the identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        inner = max(1, channels // 2)
        self.theta = nn.Conv3d(channels, inner, 1)
        self.phi = nn.Conv3d(channels, inner, 1)
        self.g = nn.Conv3d(channels, inner, 1)
        self.out = nn.Sequential(nn.Conv3d(inner, channels, 1, bias=False), nn.BatchNorm3d(channels))
        nn.init.zeros_(self.out[1].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, h, w = x.shape
        q = self.theta(x).flatten(2).transpose(1, 2)  # (N, THW, C')
        k = self.phi(x).flatten(2)  # (N, C', THW)
        v = self.g(x).flatten(2).transpose(1, 2)
        attn = torch.softmax(q @ k, dim=-1)
        y = (attn @ v).transpose(1, 2).reshape(n, -1, t, h, w)
        return x + self.out(y)


class C3DFeatures(nn.Module):
    """Four 3x3x3 conv layers whose widths double (w/2, w, 2w, 4w), as in C3D; a 1x2x2 pool after the first (time
    is kept whole early on), then 2x2x2 pools. On 8 x 48 x 48 clips: 73k parameters, 40M multiply-adds."""

    def __init__(self, in_channels: int, width: int = 16, non_local: bool = False) -> None:
        super().__init__()
        w = width
        c1, c2, c3, c4 = max(1, w // 2), w, 2 * w, 4 * w
        layers: list[nn.Module] = [
            conv3d(in_channels, c1, (3, 3, 3), pad_time=True), nn.MaxPool3d((1, 2, 2)),
            conv3d(c1, c2, (3, 3, 3), pad_time=True), nn.MaxPool3d(2, ceil_mode=True),
            conv3d(c2, c3, (3, 3, 3), pad_time=True), nn.MaxPool3d(2, ceil_mode=True),
        ]
        if non_local:
            layers.append(NonLocalBlock(c3))
        layers += [conv3d(c3, c4, (3, 3, 3), pad_time=True), nn.AdaptiveAvgPool3d(1), nn.Flatten()]
        self.body = nn.Sequential(*layers)
        self.dim = c4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def c3d(num_classes: int, in_channels: int, width: int = 16, non_local: bool = False, dropout: float = 0.0
        ) -> nn.Module:
    model = init_weights(Classifier(C3DFeatures(in_channels, width, non_local), num_classes, 0, dropout))
    for m in model.modules():  # init_weights reset the non-local block's zero output norm: restore it
        if isinstance(m, NonLocalBlock):
            nn.init.zeros_(m.out[1].weight)
    return model
