"""CNN + LSTM (LRCN, Donahue et al., 2015): per-frame CNN features fed to an LSTM; per-step scores averaged."""

from __future__ import annotations

import torch
from torch import nn

from cvkit_video.models.blocks import FrameTrunk, init_weights


class LRCN(nn.Module):
    def __init__(self, num_classes: int, in_channels: int, width: int = 16, hidden: int = 64,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.trunk = FrameTrunk(in_channels, width)
        self.lstm = nn.LSTM(self.trunk.dim, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()
        self.head = nn.Linear(hidden, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = x.shape
        feats = self.trunk(x.transpose(1, 2).reshape(n * t, c, h, w)).view(n, t, -1)
        out, _ = self.lstm(feats)
        return self.head(self.drop(out)).mean(1)
