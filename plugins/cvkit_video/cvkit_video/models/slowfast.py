"""SlowFast (Feichtenhofer et al., 2019), scaled down: two pathways over the same clip.

- Slow: every ``alpha``-th frame (default 2: 4 of 8 frames), many channels (``width`` 16: 16, 16, 32, 32); no
  temporal convolution in the stem and the first stage (appearance), ``3 x 3 x 3`` after (as the paper's res4/res5).
- Fast: every frame, ``beta`` times the channels (default 1/2: 8, 8, 16, 16), temporal kernels throughout (5 in
  the stem, 3 after): motion at full frame rate with fewer channels. Both stems see the full-resolution frames
  (motion here is a pixel or two per frame); a 2 x 2 max-pool follows the stem and the next two stages.
- Lateral connections after the stem and the next two stages: a ``5 x 1 x 1`` convolution with temporal stride
  ``alpha`` (time-strided convolution) maps the fast features to the slow frame rate with ``2 * beta`` times the
  slow channels, followed by batch norm and ReLU (as the reference implementation's fast-to-slow fusion); they are
  concatenated to the slow features.
- Time padding repeats the edge frames instead of adding zero frames, which on short clips would show every object
  appearing and vanishing at the clip's ends.
- Head: global average pooling of each pathway, concatenated, dropout (default none, as slow fusion), linear.

Activations are kept channels-last (``NDHWC``), on which the CPU convolutions with few channels run faster.
Defaults: 105.8K parameters (slow fusion: 85.5K).
"""

from __future__ import annotations

import torch
from torch import nn

from cvkit.errors import UsageError
from cvkit_video.models.blocks import TimePaddedConv3d, init_weights


def block(cin: int, cout: int, kernel: tuple[int, int, int], stride: tuple[int, int, int] = (1, 1, 1)) -> nn.Sequential:
    """Conv3d (time padding by edge frames) - BN - ReLU."""
    return nn.Sequential(TimePaddedConv3d(cin, cout, kernel, stride), nn.BatchNorm3d(cout), nn.ReLU(inplace=True))


class SlowFast(nn.Module):
    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16, alpha: int = 2, beta: float = 0.5,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if alpha < 1:
            raise UsageError(f"alpha={alpha}: the fast pathway sees alpha times the slow frame rate, alpha >= 1")
        if not 0 < beta <= 1:
            raise UsageError(f"beta={beta}: the fast pathway has beta times the slow channels, 0 < beta <= 1")
        self.alpha = int(alpha)
        slow = [width, width, 2 * width, 2 * width]
        fast = [max(1, round(c * beta)) for c in slow]
        lateral = [2 * f for f in fast]  # 2 * beta * C, the paper's time-strided convolution
        slow_t = [(1, 3, 3), (1, 3, 3), (3, 3, 3), (3, 3, 3)]
        fast_t = [(5, 3, 3), (3, 3, 3), (3, 3, 3), (3, 3, 3)]
        self.slow = nn.ModuleList()
        self.fast = nn.ModuleList()
        self.lateral = nn.ModuleList()
        cin_s, cin_f = in_channels, in_channels
        for k in range(4):
            self.slow.append(block(cin_s, slow[k], slow_t[k]))
            self.fast.append(block(cin_f, fast[k], fast_t[k]))
            cin_s = slow[k]
            if k < 3:  # after the stem and the next two stages; the last stage goes straight to the head
                self.lateral.append(block(fast[k], lateral[k], (5, 1, 1), (self.alpha, 1, 1)))
                cin_s += lateral[k]
            cin_f = fast[k]
        self.pool = nn.MaxPool3d((1, 2, 2), ceil_mode=True)
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()
        self.head = nn.Linear(slow[-1] + fast[-1], num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last_3d)
        s, f = x[:, :, :: self.alpha], x
        for k in range(4):
            s, f = self.slow[k](s), self.fast[k](f)
            if k < 3:
                s = torch.cat([s, self.lateral[k](f)], 1)
                s, f = self.pool(s), self.pool(f)
        feats = torch.cat([s.mean((2, 3, 4)), f.mean((2, 3, 4))], 1)
        return self.head(self.drop(feats))
