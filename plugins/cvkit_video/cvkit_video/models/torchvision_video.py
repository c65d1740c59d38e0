"""torchvision's video classifiers, built with ``weights=None`` unless ``--pretrained`` (local hub cache only).

r3d_18, mc3_18 and r2plus1d_18 (Tran et al., 2018) take any clip size. ``non_local=true`` adds a non-local
block after layer2 and layer3 of these ResNets. s3d's fixed 2x7x7 final pooling is made adaptive so that small
clips (8 frames or more) work. mvit_v2_s is built for the run's clip size (``frames`` x img size), which it
then requires; pretrained MViT weights exist only for 16 x 224 x 224.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import torch
from torch import nn

from cvkit.errors import CvkitError, UsageError
from cvkit_video.models.c3d import NonLocalBlock

NAMES = ("r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v2_s")


def _weights(name: str) -> Any:
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not cached.exists():
        raise CvkitError(f"--pretrained {name}: weights not in the local torch hub cache; place "
                         f"{Path(weights.url).name} (from {weights.url}) at {cached}")
    return weights


def _mvit(num_classes: int, frames: int, img_size: int, weights: Any) -> nn.Module:
    from torchvision.models.video import mvit

    if weights is not None and (frames, img_size) != (16, 224):
        raise UsageError("--pretrained mvit_v2_s needs 16-frame 224x224 clips (--model-arg frames=16 --img-size 224)")
    original = mvit._mvit

    def sized(**kwargs: Any) -> nn.Module:  # mvit_v2_s fixes 16x224x224; build it for our clip size instead
        kwargs.update(spatial_size=(img_size, img_size), temporal_size=frames)
        return original(**kwargs)

    with mock.patch.object(mvit, "_mvit", sized):
        if weights is not None:
            return mvit.mvit_v2_s(weights=weights)
        return mvit.mvit_v2_s(weights=None, num_classes=num_classes)


def torchvision_model(name: str, num_classes: int, frames: int, img_size: int, pretrained: bool,
                      non_local: bool = False, dropout: float | None = None) -> nn.Module:
    import torchvision

    if non_local and name not in ("r3d_18", "mc3_18", "r2plus1d_18"):
        raise UsageError(f"non_local=true is offered for c3d, r3d_18, mc3_18 and r2plus1d_18, not {name}")
    weights = _weights(name) if pretrained else None
    if name == "mvit_v2_s":
        model = _mvit(num_classes, frames, img_size, weights)
    elif weights is not None:
        model = torchvision.models.get_model(name, weights=weights)
    else:
        kwargs = {"dropout": dropout} if dropout is not None and name == "s3d" else {}
        model = torchvision.models.get_model(name, weights=None, num_classes=num_classes, **kwargs)
    if name == "s3d":
        model.avgpool = nn.AdaptiveAvgPool3d(1)
    if weights is not None:
        _replace_head(model, name, num_classes)
    if non_local:
        model.layer2 = nn.Sequential(model.layer2, NonLocalBlock(128))
        model.layer3 = nn.Sequential(model.layer3, NonLocalBlock(256))
    return model


def _replace_head(model: nn.Module, name: str, num_classes: int) -> None:
    if name == "s3d":
        old = model.classifier[1]
        model.classifier[1] = nn.Conv3d(old.in_channels, num_classes, 1)
    elif name == "mvit_v2_s":
        old = model.head[1]
        model.head[1] = nn.Linear(old.in_features, num_classes)
    else:
        model.fc = nn.Linear(model.fc.in_features, num_classes)
