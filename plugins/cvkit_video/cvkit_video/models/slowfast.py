"""SlowFast (Feichtenhofer et al., 2019), scaled down: two pathways over the same clip.

- Slow: every ``alpha``-th frame (default 2: 4 of 8 frames), many channels (``width`` 8: 8, 16, 32, 32); no temporal
  convolution in its first two stages (appearance), ``3 x 3 x 3`` after (as the paper's res4/res5).
- Fast: every frame, ``beta`` times the channels (default 1/4: 2, 4, 8, 8), temporal kernels throughout (5 in
  the stem, 3 after): motion at full frame rate with little capacity.
- Lateral connections after the stem and each stage: a ``5 x 1 x 1`` convolution with temporal stride ``alpha``
  (time-strided convolution) maps the fast features to the slow frame rate with ``2 * beta`` times the slow
  channels; they are concatenated to the slow features.
- Head: global average pooling of each pathway, concatenated, dropout, linear.

Defaults: 68.6K parameters (slow fusion: 85.5K), about twice slow fusion's compute per clip.
"""

from __future__ import annotations

import torch
from torch import nn

from cvkit.errors import UsageError
from cvkit_video.models.blocks import conv3d, init_weights


class SlowFast(nn.Module):
    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 8, alpha: int = 2, beta: float = 0.25,
                 dropout: float = 0.2) -> None:
        super().__init__()
        if alpha < 1:
            raise UsageError(f"alpha={alpha}: the fast pathway sees alpha times the slow frame rate, alpha >= 1")
        self.alpha = int(alpha)
        slow = [width, 2 * width, 4 * width, 4 * width]
        fast = [max(1, round(c * beta)) for c in slow]
        lateral = [2 * f for f in fast]
        slow_t = [(1, 3, 3), (1, 3, 3), (3, 3, 3), (3, 3, 3)]
        fast_t = [(5, 3, 3), (3, 3, 3), (3, 3, 3), (3, 3, 3)]
        self.slow = nn.ModuleList()
        self.fast = nn.ModuleList()
        self.lateral = nn.ModuleList()
        cin_s, cin_f = in_channels, in_channels
        for k in range(4):
            self.slow.append(conv3d(cin_s, slow[k], slow_t[k], pad_time=True))
            self.fast.append(conv3d(cin_f, fast[k], fast_t[k], pad_time=True))
            if k < 3:  # after the stem and the next two stages; the last stage goes straight to the head
                self.lateral.append(nn.Conv3d(fast[k], lateral[k], (5, 1, 1), (self.alpha, 1, 1), (2, 0, 0),
                                              bias=False))
                cin_s = slow[k] + lateral[k]
            cin_f = fast[k]
        self.pool = nn.MaxPool3d((1, 2, 2), ceil_mode=True)
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()
        self.head = nn.Linear(slow[-1] + fast[-1], num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, f = x[:, :, :: self.alpha], x
        for k in range(4):
            s, f = self.slow[k](s), self.fast[k](f)
            if k < 3:
                s = torch.cat([s, self.lateral[k](f)], 1)
                s, f = self.pool(s), self.pool(f)
        feats = torch.cat([s.mean((2, 3, 4)), f.mean((2, 3, 4))], 1)
        return self.head(self.drop(feats))
