"""Building blocks shared by the video models: conv-BN-ReLU layers, a per-frame 2D trunk, the classifier head."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cvkit.nn.init import init_weights as init_weights  # re-exported: the video models import it from here


def conv2d(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def conv3d(cin: int, cout: int, kernel: tuple[int, int, int], stride: tuple[int, int, int] = (1, 1, 1),
           pad_time: bool = False) -> nn.Sequential:
    """Conv3d-BN-ReLU, "same" padding in space; in time only with ``pad_time`` (slow fusion shrinks time)."""
    padding = (kernel[0] // 2 if pad_time else 0, kernel[1] // 2, kernel[2] // 2)
    return nn.Sequential(nn.Conv3d(cin, cout, kernel, stride, padding, bias=False), nn.BatchNorm3d(cout),
                         nn.ReLU(inplace=True))


class TimePaddedConv3d(nn.Conv3d):
    """A ``Conv3d`` whose time padding repeats the edge frames (zero frames would show every object appearing and
    vanishing at a short clip's ends, motion that is not there). ``padding`` is the spatial ``(h, w)`` padding
    (default "same" for odd kernels)."""

    def __init__(self, cin: int, cout: int, kernel: tuple[int, int, int], stride: tuple[int, int, int] = (1, 1, 1),
                 padding: tuple[int, int] | None = None, dilation: tuple[int, int] = (1, 1), groups: int = 1,
                 bias: bool = False) -> None:
        pad = padding if padding is not None else (kernel[1] // 2, kernel[2] // 2)
        super().__init__(cin, cout, kernel, stride, (0, *pad), (1, *dilation), groups, bias)
        self.time_pad = (kernel[0] - 1) // 2, kernel[0] - 1 - (kernel[0] - 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.time_pad != (0, 0):
            x = F.pad(x, (0, 0, 0, 0, *self.time_pad), mode="replicate")
        return super().forward(x)


class FrameTrunk(nn.Module):
    """A small 2D CNN on one image: ``(N, C, H, W) -> (N, dim)`` (widths w, 2w, 4w, 4w; three 2x2 max-pools;
    global average pooling)."""

    def __init__(self, in_channels: int, width: int = 16) -> None:
        super().__init__()
        w = width
        self.first = conv2d(in_channels, w)
        self.body = nn.Sequential(nn.MaxPool2d(2), conv2d(w, 2 * w), nn.MaxPool2d(2), conv2d(2 * w, 4 * w),
                                  nn.MaxPool2d(2), conv2d(4 * w, 4 * w), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.dim = 4 * w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.first(x))


class Classifier(nn.Module):
    """``features`` (``(N, C, T, H, W) -> (N, dim)``) then a linear head, or an MLP head with ``hidden`` units."""

    def __init__(self, features: nn.Module, num_classes: int, hidden: int = 0, dropout: float = 0.0) -> None:
        super().__init__()
        self.features = features
        dim = features.dim
        layers: list[nn.Module] = []
        if hidden:
            layers += [nn.Linear(dim, hidden), nn.ReLU(inplace=True)]
            dim = hidden
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(dim, num_classes))
        self.head = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
