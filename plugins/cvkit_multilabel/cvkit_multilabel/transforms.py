"""Input pipelines (torchvision.transforms.v2). Crops are mild: a crop that cuts an object out would leave a label
on an image that no longer shows it."""

from __future__ import annotations

import torch
from torchvision.transforms import v2

from cvkit.errors import UsageError
from cvkit.task import ModelConfig

AUGMENT = ("none", "flip", "standard")


def eval_transform(model: ModelConfig) -> v2.Compose:
    s = model.img_size
    return v2.Compose([v2.Resize((s, s), antialias=True), v2.ToDtype(torch.float32, scale=True),
                       v2.Normalize(model.mean, model.std)])


def train_transform(model: ModelConfig) -> v2.Compose:
    """``--model-arg augment=``: ``flip`` (default) horizontal flips; ``standard`` adds a crop of 70-100 % of
    the image and colour jitter; ``none`` is the evaluation transform."""
    augment = model.args.get("augment", "flip")
    s = model.img_size
    if augment == "none":
        return eval_transform(model)
    if augment == "flip":
        ops = [v2.Resize((s, s), antialias=True), v2.RandomHorizontalFlip()]
    elif augment == "standard":
        ops = [v2.RandomResizedCrop(s, scale=(0.7, 1.0), antialias=True), v2.RandomHorizontalFlip(),
               v2.ColorJitter(0.2, 0.2, 0.2)]
    else:
        raise UsageError(f"--model-arg augment={augment}: expected one of {', '.join(AUGMENT)}")
    return v2.Compose([*ops, v2.ToDtype(torch.float32, scale=True), v2.Normalize(model.mean, model.std)])
