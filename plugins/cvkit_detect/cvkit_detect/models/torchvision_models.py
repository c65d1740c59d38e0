"""torchvision's detectors: Faster R-CNN (MobileNetV3-Large FPN, ResNet-50 FPN), RetinaNet, FCOS and SSDlite.

Built with ``weights=None`` (nothing is downloaded); ``--pretrained`` loads the ImageNet backbone weights from the
torch hub cache and says which file to place where when it is missing. The models' own resizing is pinned to the
input size and their normalisation switched off (the dataset already normalises). Faster R-CNN and SSD reserve
class 0 for the background, so their labels are shifted by one; RetinaNet and FCOS use sigmoid classifiers over
the ``C`` classes directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from cvkit.errors import CvkitError

BACKGROUND = {"fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_resnet50_fpn", "ssdlite320_mobilenet_v3_large"}


class TorchvisionDetector(nn.Module):
    def __init__(self, net: nn.Module, label_offset: int) -> None:
        super().__init__()
        self.net = net
        self.label_offset = label_offset

    def forward(self, images: torch.Tensor, targets: list[dict[str, torch.Tensor]] | None = None) -> Any:
        imgs = list(images)
        if targets is not None:
            tg = [{"boxes": t["boxes"].float(), "labels": t["labels"].long() + self.label_offset} for t in targets]
            return self.net(imgs, tg)
        return [{"boxes": o["boxes"], "scores": o["scores"], "labels": o["labels"] - self.label_offset}
                for o in self.net(imgs)]


def _backbone_weights(name: str) -> Any:
    """The ImageNet backbone weights enum of ``name``, after checking that its file is in the hub cache."""
    from torchvision.models import MobileNet_V3_Large_Weights, ResNet50_Weights

    weights = MobileNet_V3_Large_Weights.IMAGENET1K_V1 if "mobilenet" in name else ResNet50_Weights.IMAGENET1K_V1
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not path.is_file():
        raise CvkitError(f"--pretrained needs {path.name} in {path.parent} (download {weights.url} there)")
    return weights


def build(num_classes: int, img_size: int, args: dict[str, Any], name: str = "", pretrained: bool = False,
          **_: Any) -> TorchvisionDetector:
    from torchvision.models import detection

    offset = 1 if name in BACKGROUND else 0
    kwargs: dict[str, Any] = dict(args)
    net = getattr(detection, name)(
        weights=None, weights_backbone=_backbone_weights(name) if pretrained else None,
        num_classes=num_classes + offset, **kwargs,
    )
    t = net.transform
    t.image_mean, t.image_std = [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]
    if t.fixed_size is None:
        t.min_size, t.max_size = (int(img_size),), int(img_size)
    return TorchvisionDetector(net, offset)
