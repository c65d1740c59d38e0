"""Mask R-CNN (He et al., 2017) through torchvision, set up to train from scratch on small images.

- ``maskrcnn-small`` (default): a small residual CNN (BatchNorm, strides 4/8/16, 32-64-128 channels) with a
  64-channel FPN (plus the max-pooled stride-32 level), a 256-d box head and a 4-conv 64-channel mask head (2.0M
  parameters).
- ``maskrcnn_resnet50_fpn`` / ``_v2``: torchvision's builders with ``weights=None, weights_backbone=None`` (nothing
  is downloaded; trainable BatchNorm in the backbone), or ImageNet backbone weights from the hub cache with
  ``--pretrained``.

Sizes follow the input. Images are not resized again (``min_size = max_size = img_size``); anchors are
``img_size/8 * (1, 2, 4, 8, ...)`` pixels per FPN level (8-64 px at 64 px), three aspect ratios; RoIs are assigned to
FPN levels relative to the image size (``canonical_scale = img_size / 2``) instead of ImageNet's 224 px; and there
are fewer proposals and sampled RoIs than torchvision's defaults, which suit 800-1333 px COCO images (64 RoIs per
image: RoIAlign's backward pass and the RoI heads dominate a CPU step), and at most 30 detections per image (pass
``--model-arg box_detections_per_img=100`` for COCO's protocol on real data). The normalisation is the dataset's
(the model's own is switched off). Class 0 of torchvision's heads is the background: labels are shifted by one on
the way in and out. BatchNorm layers are guarded so that batch size 1 trains
(:func:`cvkit.nn.blocks.guard_batchnorm`). Model
arguments: ``anchor`` (base anchor size in px), ``fpn`` (channels of the small model's FPN) and any ``MaskRCNN``
keyword (``rpn_pre_nms_top_n_train``, ``box_batch_size_per_image``...).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import nn
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.ops import FeaturePyramidNetwork, MultiScaleRoIAlign
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

from cvkit.nn.blocks import guard_batchnorm
from cvkit.nn.hub import cached_weights
from cvkit.nn.small_fpn import ResBlock, conv_bn

SMALL_IMAGES = {  # torchvision's defaults are sized for 800-1333 px COCO images
    "rpn_pre_nms_top_n_train": 600, "rpn_pre_nms_top_n_test": 300, "rpn_post_nms_top_n_train": 300,
    "rpn_post_nms_top_n_test": 100, "rpn_batch_size_per_image": 128, "box_batch_size_per_image": 64,
    "box_detections_per_img": 30,
}


class SmallBackboneFPN(nn.Module):
    """Feature maps ``"0"`` (stride 4), ``"1"`` (8), ``"2"`` (16) and ``"pool"`` (32), ``fpn`` channels each."""

    def __init__(self, widths: tuple[int, int, int] = (32, 64, 128), fpn: int = 64) -> None:
        super().__init__()
        w4, w8, w16 = widths
        self.stem = nn.Sequential(conv_bn(3, 24, 2), conv_bn(24, w4, 2), ResBlock(w4))
        self.layer2 = nn.Sequential(conv_bn(w4, w8, 2), ResBlock(w8))
        self.layer3 = nn.Sequential(conv_bn(w8, w16, 2), ResBlock(w16), ResBlock(w16))
        self.fpn = FeaturePyramidNetwork([w4, w8, w16], fpn, extra_blocks=LastLevelMaxPool())
        self.out_channels = fpn

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        c2 = self.stem(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        return self.fpn(OrderedDict([("0", c2), ("1", c3), ("2", c4)]))


class MaskRCNNModel(nn.Module):
    """torchvision's ``MaskRCNN`` taking a batch tensor and class indices without the background."""

    def __init__(self, net: MaskRCNN) -> None:
        super().__init__()
        self.net = net
        # cvkit.model protocol: --freeze-backbone freezes the trunk; its FPN, the RPN and the RoI heads train
        trunk = ["net.backbone.body"] if hasattr(net.backbone, "body") else [
            f"net.backbone.{n}" for n, _ in net.backbone.named_children() if n != "fpn"]
        self.backbone_modules = tuple(trunk)

    def forward(self, images: torch.Tensor, targets: list[dict[str, torch.Tensor]] | None = None) -> Any:
        imgs = list(images)
        if targets is not None:
            tg = [{"boxes": t["boxes"].float(), "labels": t["labels"].long() + 1, "masks": t["masks"]}
                  for t in targets]
            return self.net(imgs, tg)
        return [{"boxes": o["boxes"], "scores": o["scores"], "labels": o["labels"] - 1, "masks": o["masks"]}
                for o in self.net(imgs)]


def _anchors(img_size: int, base: float | None, levels: int) -> AnchorGenerator:
    b = float(base) if base else img_size / 8
    sizes = tuple((round(b * 2**k, 2),) for k in range(levels))
    return AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * levels)


def _roi_pools(img_size: int, names: list[str]) -> dict[str, MultiScaleRoIAlign]:
    scale = max(8, img_size // 2)
    return {"box_roi_pool": MultiScaleRoIAlign(names, 7, 2, canonical_scale=scale, canonical_level=4),
            "mask_roi_pool": MultiScaleRoIAlign(names, 14, 2, canonical_scale=scale, canonical_level=4)}


def _backbone_weights() -> Any:
    from torchvision.models import ResNet50_Weights

    return cached_weights(ResNet50_Weights.IMAGENET1K_V1)


def build(name: str, num_classes: int, img_size: int, args: dict[str, Any], pretrained: bool = False,
          **_: Any) -> MaskRCNNModel:
    args = dict(args)
    base = args.pop("anchor", None)
    common = {"min_size": int(img_size), "max_size": int(img_size), "image_mean": [0.0, 0.0, 0.0],
              "image_std": [1.0, 1.0, 1.0]}
    if name == "maskrcnn-small":
        fpn = int(args.pop("fpn", 64))
        backbone = SmallBackboneFPN(fpn=fpn)
        kwargs = {**SMALL_IMAGES, **common, **_roi_pools(img_size, ["0", "1", "2"]), **args}
        net = MaskRCNN(
            backbone, num_classes=None, rpn_anchor_generator=_anchors(img_size, base, 4),
            box_head=TwoMLPHead(fpn * 7 * 7, 256), box_predictor=FastRCNNPredictor(256, num_classes + 1),
            mask_head=MaskRCNNHeads(fpn, [64, 64, 64, 64], 1),
            mask_predictor=MaskRCNNPredictor(64, 64, num_classes + 1),
            **kwargs,
        )
        return MaskRCNNModel(guard_batchnorm(net))
    from torchvision.models import detection

    net = getattr(detection, name)(weights=None, weights_backbone=_backbone_weights() if pretrained else None,
                                   num_classes=num_classes + 1, **{**SMALL_IMAGES, **common, **args})
    # the builders fix their own anchors and RoI pools: swap in ones sized for the input (same anchor count)
    net.rpn.anchor_generator = _anchors(img_size, base, 5)
    pools = _roi_pools(img_size, ["0", "1", "2", "3"])
    net.roi_heads.box_roi_pool, net.roi_heads.mask_roi_pool = pools["box_roi_pool"], pools["mask_roi_pool"]
    return MaskRCNNModel(guard_batchnorm(net))
