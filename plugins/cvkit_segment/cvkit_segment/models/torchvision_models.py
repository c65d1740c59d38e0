"""torchvision's segmentation models: FCN and DeepLabV3 (ASPP) on ResNet-50/101 or MobileNetV3-Large, and LR-ASPP.

Built with ``weights=None`` and ``weights_backbone=None``: nothing is downloaded (torchvision's builders would fetch
ImageNet backbone weights by default). ``--pretrained`` loads the ImageNet backbone weights from the torch hub cache
and says which file to place where when it is missing. FCN and DeepLabV3 get their auxiliary classifier (on the
backbone's stride-16 stage) by default, trained with weight 0.5 (``--model-arg aux_loss=false`` drops it); LR-ASPP
has none. In eval mode the model returns the ``out`` logits only, so it exports like the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from cvkit.errors import CvkitError

NAMES = (
    "fcn_resnet50",
    "fcn_resnet101",
    "deeplabv3_resnet50",
    "deeplabv3_resnet101",
    "deeplabv3_mobilenet_v3_large",
    "lraspp_mobilenet_v3_large",
)


class TorchvisionSegmenter(nn.Module):
    """Training: ``{"out", "aux"}`` logits at the input size; eval: the ``out`` logits tensor."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> Any:
        out = self.net(x)
        return dict(out) if self.training else out["out"]


def _backbone_weights(name: str) -> Any:
    from torchvision.models import MobileNet_V3_Large_Weights, ResNet50_Weights, ResNet101_Weights

    if "mobilenet" in name:
        weights = MobileNet_V3_Large_Weights.IMAGENET1K_V1
    else:
        weights = ResNet101_Weights.IMAGENET1K_V1 if "101" in name else ResNet50_Weights.IMAGENET1K_V1
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not path.is_file():
        raise CvkitError(f"--pretrained needs {path.name} in {path.parent} (download {weights.url} there)")
    return weights


def build(num_classes: int, args: dict[str, Any], name: str = "", pretrained: bool = False, **_: Any) -> nn.Module:
    from torchvision.models import segmentation

    kwargs: dict[str, Any] = dict(args)
    if not name.startswith("lraspp"):
        kwargs.setdefault("aux_loss", True)
    net = getattr(segmentation, name)(weights=None, weights_backbone=_backbone_weights(name) if pretrained else None,
                                      num_classes=num_classes, **kwargs)
    return TorchvisionSegmenter(net)
