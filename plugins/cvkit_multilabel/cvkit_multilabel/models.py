"""Multi-label models: a small CNN trained from scratch, or any torchvision classifier, each giving one logit per
class, wrapped with the per-class decision thresholds that evaluation tunes on the validation split.

The thresholds are a buffer, so they travel in the checkpoint's state dict (plain tensors) and ``predict`` applies
exactly the thresholds chosen during training."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cvkit.errors import CvkitError, UsageError

OWN_MODELS = ("small-cnn",)


def small_cnn(num_classes: int, channels: int = 32, depth: int = 4) -> nn.Sequential:
    """``depth`` blocks of conv3x3-BN-ReLU + 2x2 max-pool (channels doubling from ``channels``), global average
    pooling and a linear layer: a network that sees a whole 64 px scene and says what is in it."""
    layers: list[nn.Module] = []
    c_in, c = 3, int(channels)
    for _ in range(int(depth)):
        layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                   nn.MaxPool2d(2)]
        c_in, c = c, c * 2
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes)]
    from cvkit.nn.init import init_weights

    return init_weights(nn.Sequential(*layers))


class MultiLabelNet(nn.Module):
    """``net(x)`` gives ``(B, C)`` logits; ``thresholds`` ``(C,)`` are the probabilities at or above which a class
    is predicted present (0.5 until evaluation tunes them)."""

    def __init__(self, net: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("thresholds", torch.full((num_classes,), 0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


LOSS_ARGS = ("loss", "gamma", "gamma_neg", "gamma_pos", "clip")


def build(name: str, num_classes: int, args: dict[str, Any], pretrained: bool) -> MultiLabelNet:
    """Build ``name``; the loss options among ``args`` (``loss``, ``gamma``, ...) are kept on the model as
    ``loss_args`` for the task's ``train_step``, ``augment`` is the transforms'."""
    loss_args = {k: v for k, v in args.items() if k in LOSS_ARGS}
    args = {k: v for k, v in args.items() if k not in LOSS_ARGS and k != "augment"}
    if name == "small-cnn":
        if pretrained:
            raise UsageError("--pretrained: small-cnn is trained from scratch here; there are no pretrained weights")
        model = MultiLabelNet(small_cnn(num_classes, **args), num_classes)
    else:
        model = MultiLabelNet(torchvision_model(name, num_classes, args, pretrained), num_classes)
    model.loss_args = loss_args
    return model


def torchvision_names() -> list[str]:
    import torchvision

    return torchvision.models.list_models(module=torchvision.models)


def torchvision_model(name: str, num_classes: int, args: dict[str, Any], pretrained: bool) -> nn.Module:
    """A torchvision classifier with a ``num_classes`` head; ``--pretrained`` reads the local torch hub cache and
    replaces the 1000-class head."""
    import torchvision

    if name not in torchvision_names():
        raise UsageError(f"unknown multilabel model {name!r}: see `cvkit models multilabel`")
    if not pretrained:
        return torchvision.models.get_model(name, weights=None, num_classes=num_classes, **args)
    from cvkit.nn.hub import cached_weights

    weights = cached_weights(torchvision.models.get_model_weights(name).DEFAULT)
    model = torchvision.models.get_model(name, weights=weights, **args)
    from cvkit.model import head

    found = head(model)
    if found is None or not isinstance(found[1], nn.Linear):
        raise CvkitError(f"{name}: no linear classifier head to resize")
    parent_name, _, child = found[0].rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, nn.Linear(found[1].in_features, num_classes))
    return model
