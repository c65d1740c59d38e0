"""What every method shares: its options, the encoder's input, a decoder for the methods that draw images."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from cvkit.errors import UsageError
from cvkit.nn.blocks import conv_norm_act, resize_to

if TYPE_CHECKING:
    from cvkit_pretrain.models import PretrainModel


class Method:
    """A pretext task. ``options`` are its ``--model-arg`` keys with their defaults."""

    name = ""
    options: dict[str, Any] = {}
    needs_labels = False

    def __init__(self, args: dict[str, Any]) -> None:
        unknown = sorted(set(args) - set(self.options))
        if unknown:
            known = ", ".join(["encoder", *self.options]) or "encoder"
            raise UsageError(f"--model-arg {unknown[0]}: not an option of {self.name} (options: {known})")
        self.args = {**self.options, **args}

    def build(self, model: PretrainModel) -> None:
        """Add the method's heads to ``model`` (its ``backbone``, ``dim`` and ``img_size`` are set)."""

    def encoder_input(self, model: PretrainModel, x: torch.Tensor) -> torch.Tensor:
        """What the encoder sees of images ``x`` in [0, 1]: by default the normalised RGB image."""
        return model.normalize(x)

    def features(self, model: PretrainModel, x: torch.Tensor) -> torch.Tensor:
        return model.backbone(self.encoder_input(model, x))

    def eval_features(self, model: PretrainModel, x: torch.Tensor) -> torch.Tensor:
        """The frozen features the probes read, of whole images ``x`` in [0, 1]."""
        return self.features(model, x)

    def loss(self, model: PretrainModel, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError


def decoder(in_channels: int, out_channels: int, in_size: int, out_size: int, width: int = 256,
            extra: int = 0) -> nn.ModuleDict:
    """Upsampling decoder from a ``in_size`` feature map to ``out_size``: a 1x1 reduction, then bilinear x2 +
    conv-BN-ReLU blocks halving the width (at least 32), and a 1x1 output conv. ``extra`` input channels (a
    skip input at the output size) join before the last block."""
    steps = max(0, math.ceil(math.log2(max(1, out_size) / max(1, in_size))))
    blocks: list[nn.Module] = []
    c = width
    for _ in range(steps):
        blocks += [nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                   conv_norm_act(c, max(32, c // 2))]
        c = max(32, c // 2)
    return nn.ModuleDict({
        "reduce": conv_norm_act(in_channels, width, k=1),
        "up": nn.Sequential(*blocks),
        "out": nn.Sequential(conv_norm_act(c + extra, c), nn.Conv2d(c, out_channels, 1)),
    })


def decode(dec: nn.ModuleDict, fmap: torch.Tensor, size: int, skip: torch.Tensor | None = None) -> torch.Tensor:
    y = resize_to(dec["up"](dec["reduce"](fmap)), (size, size))
    if skip is not None:
        y = torch.cat([y, skip], 1)
    return dec["out"](y)


def check_positive(name: str, value: Any, method: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"--model-arg {name}={value!r}: expected a number ({method})") from None
    if not v > 0:
        raise UsageError(f"--model-arg {name}={value}: must be positive ({method})")
    return v
