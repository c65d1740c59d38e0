"""Karpathy et al. (CVPR 2014): how a CNN fuses time. Scaled-down versions of the paper's networks.

All take clips ``(N, C, T, H, W)`` and return class logits.

- ``single``: a 2D CNN on single frames: trained on one random frame of each clip; in evaluation the features
  (hence the scores: the head is linear) of every frame of the clip are averaged.
- ``early``: the first convolution spans all T frames (a ``T x 3 x 3`` kernel, i.e. a 2D convolution over the
  frames stacked as channels); the rest is 2D.
- ``late``: two single-frame towers with shared weights on the first and last frame (T - 1 apart), merged in
  the first fully connected layer.
- ``slow``: 3D convolutions with temporal extents 4, 2, 2 (first one with temporal stride 2), so that higher
  layers see progressively more time; remaining time is averaged.
- ``fovea=true`` (any of the four): the multi-resolution variant. A context stream sees the whole frame at half
  resolution and a fovea stream the centre at full resolution (both H/2 x W/2); their features are concatenated.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cvkit.errors import UsageError
from cvkit_video.models.blocks import Classifier, FrameTrunk, conv3d, init_weights


class SingleFrame(nn.Module):
    def __init__(self, in_channels: int, frames: int, width: int) -> None:
        super().__init__()
        self.trunk = FrameTrunk(in_channels, width)
        self.dim = self.trunk.dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:  # one random frame of each clip (T times cheaper; the paper's single-frame training)
            pick = torch.randint(x.shape[2], (x.shape[0],), device=x.device)
            return self.trunk(x[torch.arange(x.shape[0], device=x.device), :, pick])
        n, c, t, h, w = x.shape
        feats = self.trunk(x.transpose(1, 2).reshape(n * t, c, h, w))
        return feats.view(n, t, -1).mean(1)


class EarlyFusion(nn.Module):
    def __init__(self, in_channels: int, frames: int, width: int) -> None:
        super().__init__()
        self.frames = frames
        # a T x 3 x 3 filter over C channels is a 3 x 3 filter over the C*T stacked channels
        self.trunk = FrameTrunk(in_channels * frames, width)
        self.dim = self.trunk.dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[2] != self.frames:
            raise UsageError(f"early fusion was built for {self.frames}-frame clips, got {x.shape[2]}")
        return self.trunk(x.flatten(1, 2))


class LateFusion(nn.Module):
    def __init__(self, in_channels: int, frames: int, width: int) -> None:
        super().__init__()
        self.trunk = FrameTrunk(in_channels, width)
        self.dim = 2 * self.trunk.dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.trunk(x[:, :, 0]), self.trunk(x[:, :, -1])], 1)


class SlowFusion(nn.Module):
    EXTENTS = ((4, 2), (2, 1), (2, 1), (1, 1))  # (temporal extent, temporal stride) per layer

    def __init__(self, in_channels: int, frames: int, width: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin, t = in_channels, frames
        for i, (k, s) in enumerate(self.EXTENTS):
            k = min(k, t)  # short clips: the extents shrink rather than run out of frames
            cout = width * min(4, 2**i)
            layers.append(conv3d(cin, cout, (k, 3, 3), (s, 1, 1)))
            t = (t - k) // s + 1
            if i < 3:
                layers.append(nn.MaxPool3d((1, 2, 2)))
            cin = cout
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool3d(1), nn.Flatten())
        self.dim = cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class FoveaContext(nn.Module):
    """Two streams on H/2 x W/2 inputs: the downsampled whole frame and the full-resolution centre."""

    def __init__(self, context: nn.Module, fovea: nn.Module) -> None:
        super().__init__()
        self.context, self.fovea = context, fovea
        self.dim = context.dim + fovea.dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        ctx = F.avg_pool3d(x, (1, 2, 2))
        y0, x0 = h // 4, w // 4
        fov = x[..., y0: y0 + h // 2, x0: x0 + w // 2]
        return torch.cat([self.context(ctx), self.fovea(fov)], 1)


FEATURES = {"single": SingleFrame, "early": EarlyFusion, "late": LateFusion, "slow": SlowFusion}


def fusion_model(name: str, num_classes: int, in_channels: int, frames: int, img_size: int, width: int = 16,
                 fovea: bool = False, hidden: int | None = None, dropout: float = 0.0) -> nn.Module:
    cls = FEATURES[name]
    if fovea:
        if img_size % 4:
            raise UsageError(f"fovea=true needs --img-size divisible by 4 (got {img_size})")
        features: nn.Module = FoveaContext(cls(in_channels, frames, width), cls(in_channels, frames, width))
    else:
        features = cls(in_channels, frames, width)
    if hidden is None:  # late fusion merges its two towers in a fully connected layer
        hidden = 4 * width if name == "late" else 0
    return init_weights(Classifier(features, num_classes, hidden, dropout))
