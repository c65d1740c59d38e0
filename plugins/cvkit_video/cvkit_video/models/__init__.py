"""Video models by name, what each one sees (RGB frames, optical flow, or both) and their builder arguments.

Every model takes clips ``(N, C, T, H, W)`` (``C``: 3 RGB, 2 flow, 5 RGB + flow) and returns class logits.
``--model-arg`` keys: the clip options ``frames`` (T, default 8), ``stride`` (1), ``clips`` (evaluation clips per
video, 5), ``flow`` (farneback|dis), ``augment`` (auto|flip|none), ``frame_cache_mb`` (1024) are read by the
dataset; ``width`` (16), ``hidden``, ``dropout``, ``fovea`` (single/early/late/slow), ``non_local``
(c3d, r3d_18, mc3_18, r2plus1d_18) and ``lstm_hidden`` (lrcn) by the builders.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cvkit.errors import UsageError
from cvkit_video.models.c3d import c3d
from cvkit_video.models.fusion import fusion_model
from cvkit_video.models.i3d import i3d
from cvkit_video.models.lrcn import LRCN
from cvkit_video.models.slowfast import SlowFast
from cvkit_video.models.torchvision_video import NAMES as TORCHVISION_NAMES
from cvkit_video.models.torchvision_video import torchvision_model
from cvkit_video.models.two_stream import TwoStream, flow_stream

OWN = ("single", "early", "late", "slow", "lrcn", "c3d", "flow", "two-stream", "i3d", "slowfast")
NAMES = (*OWN, *TORCHVISION_NAMES)
DATA_ARGS = ("frames", "stride", "clips", "flow", "augment", "frame_cache_mb")
MODALITY = {"flow": (False, True), "two-stream": (True, True)}  # (rgb, flow); every other model: RGB only


def modality(name: str) -> tuple[bool, bool]:
    return MODALITY.get(name, (True, False))


def in_channels(name: str) -> int:
    rgb, flow = modality(name)
    return 3 * rgb + 2 * flow


def build(name: str, num_classes: int, img_size: int, args: dict[str, Any], pretrained: bool) -> nn.Module:
    """Build ``name`` for ``num_classes``; ``args`` are the run's ``--model-arg`` values (clip options ignored)."""
    if name not in NAMES:
        raise UsageError(f"unknown video model {name!r}: choose one of {', '.join(NAMES)}")
    frames = int(args.get("frames", 8))
    kwargs = {k: v for k, v in args.items() if k not in DATA_ARGS}
    if pretrained and name not in (*TORCHVISION_NAMES, "i3d"):
        raise UsageError(f"--pretrained: {name} is trained from scratch here; pretrained weights exist for "
                         f"{', '.join(TORCHVISION_NAMES)}")
    try:
        if name in ("single", "early", "late", "slow"):
            model = fusion_model(name, num_classes, 3, frames, img_size, **kwargs)
        elif name == "lrcn":
            model = LRCN(num_classes, 3, **{("hidden" if k == "lstm_hidden" else k): v for k, v in kwargs.items()})
        elif name == "c3d":
            model = c3d(num_classes, 3, **kwargs)
        elif name == "flow":
            model = flow_stream(num_classes, frames, img_size, **kwargs)
        elif name == "two-stream":
            model = TwoStream(num_classes, frames, img_size, **kwargs)
        elif name == "i3d":
            model = i3d(num_classes, pretrained, **kwargs)
        elif name == "slowfast":
            model = SlowFast(num_classes, 3, **kwargs)
        else:
            model = torchvision_model(name, num_classes, frames, img_size, pretrained, **kwargs)
    except TypeError as exc:
        raise UsageError(f"--model-arg for {name}: {exc}") from None
    model.clip_shape = (in_channels(name), frames)  # for example inputs (count-params, export)
    return model


def example_input(model: nn.Module, input_size: tuple[int, ...]) -> torch.Tensor:
    """A zero clip batch of one: ``(1, C, T, H, W)`` with the model's own C and T and the spatial size given."""
    c, t = getattr(getattr(model, "module", model), "clip_shape", (3, 8))
    return torch.zeros(1, c, t, input_size[-2], input_size[-1])
