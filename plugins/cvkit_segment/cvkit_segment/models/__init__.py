"""Segmentation models by name, one module per family, imported only when built.

Every model is an ``nn.Module`` whose ``forward(images)`` takes a normalised ``(B, 3, S, S)`` batch and returns
``(B, C, S, S)`` class logits at the input size; in training mode a model with an auxiliary classifier returns
``{"out": logits, "aux": logits}`` instead. BatchNorm layers are guarded so that batch size 1 trains
(:mod:`cvkit_segment.models.blocks`).
"""

from __future__ import annotations

import importlib
from typing import Any

from torch import nn

from cvkit.errors import UsageError
from cvkit_segment.models.blocks import guard_batchnorm
from cvkit_segment.models.torchvision_models import NAMES as TORCHVISION

MODELS: dict[str, str] = {
    "unet": "cvkit_segment.models.unet",
    "fcn": "cvkit_segment.models.fcn",
    "encoder-decoder": "cvkit_segment.models.encoder_decoder",
    "hrnet-small": "cvkit_segment.models.hrnet",
    **{name: "cvkit_segment.models.torchvision_models" for name in TORCHVISION},
}


def build(name: str, num_classes: int, args: dict[str, Any], **kw: Any) -> nn.Module:
    """Build model ``name`` for ``num_classes`` classes (``kw``: ``pretrained``)."""
    if name not in MODELS:
        raise UsageError(f"unknown segmentation model {name!r} (choose from {', '.join(MODELS)})")
    from cvkit_segment.datasets.dataset import DATA_ARGS

    module = importlib.import_module(MODELS[name])
    args = {k: v for k, v in args.items() if k not in DATA_ARGS}
    try:
        model = module.build(num_classes, args, name=name, **kw)
    except TypeError as exc:
        raise UsageError(f"bad arguments for model {name!r} {args}: {exc}") from None
    return guard_batchnorm(model)
