"""Models by name: the small SAM-style model trained from scratch and the official Segment Anything variants.

Every model has the same interface: ``embed(images)`` once per image, ``select(embedding, index)`` (the image of
each prompt), ``decode(selected, points, labels, mask_input, has_mask) -> (logits (P, 4, L, L), iou (P, 4))``,
``img_size`` (the square input) and ``low_res`` (``L``, the size of the mask logits and of ``mask_input``).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from cvkit_promptseg.models.official import MODEL_NAMES as OFFICIAL

TINY = ("sam-tiny",)
MODELS = (*TINY, *OFFICIAL)


def build(name: str, img_size: int, args: dict[str, Any]) -> nn.Module:
    if name in TINY:
        from cvkit_promptseg.models.tiny import build_tiny

        return build_tiny(img_size, args)
    if name in OFFICIAL:
        from cvkit_promptseg.models.official import build_official

        return build_official(name)
    raise ValueError(f"unknown promptseg model {name!r} (known: {', '.join(MODELS)})")


def is_official(model: nn.Module) -> bool:
    return bool(getattr(model, "official", False))
