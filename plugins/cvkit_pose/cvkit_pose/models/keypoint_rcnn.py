"""torchvision's Keypoint R-CNN (ResNet-50 FPN), multi-person: it finds the people itself.

Built with ``weights=None`` (nothing is downloaded; ``--pretrained`` loads the ImageNet ResNet-50 from the torch hub
cache). The number of keypoints comes from the dataset. Sized for small inputs on a CPU: the model's own resizing is
pinned to the input size and its normalisation switched off (the dataset normalises), fewer proposals are kept,
at most 20 people are returned (COCO keypoint AP counts 20), and the keypoint head has ``head_layers`` 3x3
convolutions of ``head_channels`` (torchvision's is 8 x 512, about 20 times the work per person).

Arguments (``--model-arg``): ``head_channels`` (128), ``head_layers`` (4), and any keyword of torchvision's
``KeypointRCNN`` (``rpn_post_nms_top_n_train``, ``box_batch_size_per_image``, ``box_score_thresh``...).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cvkit.nn.hub import cached_weights

SMALL = {
    "rpn_pre_nms_top_n_train": 600, "rpn_post_nms_top_n_train": 300,
    "rpn_pre_nms_top_n_test": 300, "rpn_post_nms_top_n_test": 100,
    "box_batch_size_per_image": 64, "box_detections_per_img": 20,
}


class KeypointRCNN(nn.Module):
    """``forward(images, targets)``: the loss dict in training; otherwise torchvision's per-image detections
    (``boxes``, ``scores``, ``labels``, ``keypoints`` ``(N, K, 3)``, ``keypoints_scores``) in input pixels."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor, targets: list[dict[str, torch.Tensor]] | None = None) -> Any:
        return self.net(list(images), targets) if targets is not None else self.net(list(images))


def _backbone_weights() -> Any:
    from torchvision.models import ResNet50_Weights

    return cached_weights(ResNet50_Weights.IMAGENET1K_V1)


def build(num_joints: int, img_size: int, args: dict[str, Any], pretrained: bool = False) -> KeypointRCNN:
    from torchvision.models.detection import keypointrcnn_resnet50_fpn
    from torchvision.models.detection.keypoint_rcnn import KeypointRCNNHeads, KeypointRCNNPredictor

    kwargs = {**SMALL, **args}
    channels = int(kwargs.pop("head_channels", 128))
    layers = int(kwargs.pop("head_layers", 4))
    net = keypointrcnn_resnet50_fpn(
        weights=None, weights_backbone=_backbone_weights() if pretrained else None, num_classes=2,
        num_keypoints=num_joints, min_size=int(img_size), max_size=int(img_size), image_mean=[0.0, 0.0, 0.0],
        image_std=[1.0, 1.0, 1.0], **kwargs,
    )
    net.roi_heads.keypoint_head = KeypointRCNNHeads(net.backbone.out_channels, [channels] * layers)
    net.roi_heads.keypoint_predictor = KeypointRCNNPredictor(channels, num_joints)
    return KeypointRCNN(net)
