"""The pretext tasks. Each method builds its heads on top of the encoder and computes its loss from a batch of
images in [0, 1] (labels are ignored except by ``supervised``, the reference encoder trained with labels)."""

from __future__ import annotations

from cvkit.errors import UsageError

from .autoencoder import Autoencoder
from .base import Method
from .colorize import Colorize
from .contrastive import SimCLR
from .relpos import RelativePosition
from .rotation import Rotation, Supervised

METHODS: dict[str, type[Method]] = {
    "relpos": RelativePosition, "colorize": Colorize, "rotation": Rotation, "simclr": SimCLR,
    "autoencoder": Autoencoder, "supervised": Supervised,
}


def get_method(name: str) -> type[Method]:
    if name not in METHODS:
        raise UsageError(f"unknown pretraining method {name!r} (choose from {', '.join(METHODS)})")
    return METHODS[name]


__all__ = ["METHODS", "Method", "get_method"]
