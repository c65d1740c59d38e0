"""Input pipelines (torchvision.transforms.v2) for training and evaluation."""

from __future__ import annotations

import torch
from torchvision.transforms import v2

from cvkit.errors import UsageError
from cvkit.task import ModelConfig

AUGMENT = ("none", "light", "standard")


def eval_transform(model: ModelConfig) -> v2.Compose:
    """Resize (with the usual 0.875 centre crop from 128 px up; a plain resize below) and normalise."""
    s = model.img_size
    resize = [v2.Resize(round(s / 0.875), antialias=True), v2.CenterCrop(s)] if s >= 128 else \
        [v2.Resize((s, s), antialias=True)]
    return v2.Compose([*resize, v2.ToDtype(torch.float32, scale=True), v2.Normalize(model.mean, model.std)])


def train_transform(model: ModelConfig) -> v2.Compose:
    """``--model-arg augment=``: ``standard`` random-resized crop, flip, colour jitter (the ImageNet recipe);
    ``light`` a mild crop and shift without flips (digits, text); ``none`` the evaluation transform."""
    augment = model.args.get("augment", "standard")
    s = model.img_size
    if augment == "none":
        return eval_transform(model)
    if augment == "light":
        ops = [v2.RandomResizedCrop(s, scale=(0.8, 1.0), ratio=(0.9, 1.1), antialias=True)]
    elif augment == "standard":
        ops = [v2.RandomResizedCrop(s, scale=(0.35, 1.0), antialias=True), v2.RandomHorizontalFlip(),
               v2.ColorJitter(0.2, 0.2, 0.2)]
    else:
        raise UsageError(f"--model-arg augment={augment}: expected one of {', '.join(AUGMENT)}")
    return v2.Compose([*ops, v2.ToDtype(torch.float32, scale=True), v2.Normalize(model.mean, model.std)])
