"""Two-stream networks (Simonyan & Zisserman, 2014): an appearance stream on RGB frames and a motion stream on a
stack of optical-flow fields (2 channels per frame, so 2T input channels), fused by averaging class scores.

The input is one tensor ``(N, 5, T, H, W)``: RGB in channels 0-2, flow (dx, dy) in 3-4. ``forward`` returns the
log of the averaged softmax scores (so that a softmax gives back the fused probabilities); in training mode it
returns both streams' logits, and each stream optimises its own cross-entropy, as the streams are trained
separately in the paper.
``flow`` is the motion stream alone, on ``(N, 2, T, H, W)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from cvkit_video.models.fusion import fusion_model


def flow_stream(num_classes: int, frames: int, img_size: int, width: int = 16, dropout: float = 0.0) -> nn.Module:
    """The temporal stream: a 2D CNN whose first layer sees the 2T stacked flow channels (early fusion)."""
    return fusion_model("early", num_classes, 2, frames, img_size, width, dropout=dropout)


class TwoStream(nn.Module):
    def __init__(self, num_classes: int, frames: int, img_size: int, width: int = 16, dropout: float = 0.0) -> None:
        super().__init__()
        self.spatial = fusion_model("single", num_classes, 3, frames, img_size, width, dropout=dropout)
        self.temporal = flow_stream(num_classes, frames, img_size, width, dropout)

    def stream_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.spatial(x[:, :3]), self.temporal(x[:, 3:])

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self.training:  # each stream's logits, for one loss per stream
            return self.stream_logits(x)
        a, b = self.stream_logits(x)
        return torch.logsumexp(torch.stack([a.log_softmax(1), b.log_softmax(1)]), 0) - math.log(2.0)
