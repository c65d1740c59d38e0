"""Rotation prediction (Gidaris et al.): each image in its four rotations, 0/90/180/270 degrees, classified by a
linear head on the pooled features. ``supervised``: the same encoder trained on the labels (the reference)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from cvkit.errors import CvkitError

from .base import Method

if TYPE_CHECKING:
    from cvkit_pretrain.models import PretrainModel


class Rotation(Method):
    name = "rotation"

    def build(self, model: PretrainModel) -> None:
        model.head = nn.Linear(model.dim, 4)

    def loss(self, model: PretrainModel, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        rotated = torch.cat([torch.rot90(x, k, dims=(2, 3)) for k in range(4)])
        target = torch.arange(4, device=x.device).repeat_interleave(x.shape[0])
        logits = model.head(self.features(model, rotated))
        return {"loss": F.cross_entropy(logits, target), "acc": (logits.argmax(1) == target).float().mean()}


class Supervised(Method):
    """Cross-entropy on the labels through a linear head: the supervised encoder the others are compared with.
    Unlabelled images (label -1) are left out of the loss."""

    name = "supervised"
    needs_labels = True

    def build(self, model: PretrainModel) -> None:
        if model.num_classes < 2:
            raise CvkitError("pretrain --model supervised needs labelled data (class folders or COCO classes)")
        model.head = nn.Linear(model.dim, model.num_classes)

    def loss(self, model: PretrainModel, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = model.head(self.features(model, x))
        known = labels >= 0
        if not bool(known.any()):
            return {"loss": logits.sum() * 0.0}
        loss = F.cross_entropy(logits[known], labels[known])
        return {"loss": loss, "acc": (logits[known].argmax(1) == labels[known]).float().mean()}
