"""Pose models by name, one module per family, imported only when built.

Heatmap models (``simple-baseline``, ``hourglass``) take a normalised ``(B, 3, S, S)`` batch of person crops and
return ``(B, K, S / stride, S / stride)`` heatmaps (a list of them, one per stack, when an hourglass trains);
they carry their heatmap ``stride``. ``keypoint-rcnn`` takes whole images and finds the people itself.
"""

from __future__ import annotations

import importlib
from typing import Any

from torch import nn

from cvkit.errors import UsageError

MODELS: dict[str, str] = {
    "simple-baseline": "cvkit_pose.models.simple_baseline",
    "hourglass": "cvkit_pose.models.hourglass",
    "keypoint-rcnn": "cvkit_pose.models.keypoint_rcnn",
}
HEATMAP_MODELS = ("simple-baseline", "hourglass")
# --model-arg keys read by the datasets and decoding, not passed to the builders (``stride`` goes to both).
DATA_ARGS = ("sigma", "decode", "flip_test", "augment", "scale_jitter", "rotate", "flip")


def is_heatmap(name: str) -> bool:
    return name in HEATMAP_MODELS


def build(name: str, num_joints: int, img_size: int, args: dict[str, Any], pretrained: bool = False) -> nn.Module:
    """Build model ``name`` for ``num_joints`` keypoints; ``args`` are ``--model-arg`` values."""
    if name not in MODELS:
        raise UsageError(f"unknown pose model {name!r} (choose from {', '.join(MODELS)})")
    if pretrained and name != "keypoint-rcnn":
        raise UsageError(f"--pretrained: {name} has no pretrained weights (only keypoint-rcnn's ResNet-50 has)")
    module = importlib.import_module(MODELS[name])
    model_args = {k: v for k, v in args.items() if k not in DATA_ARGS}
    if name == "keypoint-rcnn":
        model_args.pop("stride", None)
    try:
        if name == "keypoint-rcnn":
            return module.build(num_joints, img_size, model_args, pretrained)
        return module.build(num_joints, img_size, model_args)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"bad arguments for model {name!r} {model_args}: {exc}") from None
