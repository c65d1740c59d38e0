"""The pretraining model: an encoder (``backbone``, a torchvision ResNet trunk that ``cvkit train classify``
builds under the same name) and the heads of one method.

Hand-over: the checkpoint's encoder tensors are ``backbone.<name>`` with ``<name>`` exactly the classifier's own
parameter names, and ``model.args.encoder`` names the architecture, so that ``cvkit train classify --model
resnet18 --weights PRETRAIN.pt`` starts from the encoder (the fresh ``fc`` head keeps its initialisation).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cvkit.errors import UsageError
from cvkit.task import IMAGENET_MEAN, IMAGENET_STD
from cvkit_pretrain.encoders import DEFAULT_CHANNELS, SMALL, EncoderSpec, build_encoder
from cvkit_pretrain.methods import Method, get_method

DEFAULT_ENCODER = "resnet18"


class PretrainModel(nn.Module):
    """``forward(x)`` and ``forward_features(x)``: the frozen-feature vector of images ``x`` in [0, 1]."""

    backbone_modules = ("backbone",)
    head_module = "head"

    def __init__(self, method: str, img_size: int, args: dict[str, Any], num_classes: int = 0) -> None:
        super().__init__()
        args = dict(args)
        self.encoder = encoder_spec(args, img_size)
        self.encoder_name = self.encoder.name
        args.pop("repeat", None)  # a data option (see data.training_set)
        self.method_name, self.img_size, self.num_classes = method, int(img_size), int(num_classes)
        self.method: Method = get_method(method)(args)
        self.backbone, self.dim, self.fmap_size = build_encoder(self.encoder)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.method.build(self)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] as the classifier's input pipeline normalises them (ImageNet mean and std)."""
        return (x - self.mean) / self.std

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.method.eval_features(self, x)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> Any:
        """Features of ``x``; with ``labels`` (training), the method's losses ``{"loss": ..., ...}``."""
        if labels is None:
            return self.forward_features(x)
        return self.pretext_loss(x, labels)

    def pretext_loss(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.method.loss(self, x, labels)


def encoder_spec(args: dict[str, Any], img_size: int) -> EncoderSpec:
    """The encoder named by the model args ``encoder`` and ``channels`` (both removed from ``args``)."""
    name = str(args.pop("encoder", DEFAULT_ENCODER))
    channels = args.pop("channels", None)
    if channels is not None and name != SMALL:
        raise UsageError(f"--model-arg channels: an option of encoder={SMALL} only (this encoder is {name})")
    try:
        width = int(DEFAULT_CHANNELS if channels is None else channels)
    except (TypeError, ValueError):
        raise UsageError(f"--model-arg channels={channels!r}: expected a whole number") from None
    return EncoderSpec(name, int(img_size), width)


def build(method: str, img_size: int, args: dict[str, Any], num_classes: int) -> PretrainModel:
    return PretrainModel(method, img_size, args, num_classes)
