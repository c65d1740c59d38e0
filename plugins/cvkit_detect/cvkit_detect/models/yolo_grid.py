"""``yolo-grid``: a YOLO-style single-shot detector (Redmon et al. 2016/2017) on the small CNN.

The image is divided into an ``S x S`` grid (``S = img_size / 16`` unless ``grid`` is given). Each cell predicts
``B`` boxes relative to ``B`` anchor shapes (fractions of the image) and one set of ``C`` class scores: the output is
``S x S x (5B + C)`` (per box ``tx, ty, tw, th, objectness``). A ground-truth box is assigned to the cell holding its
centre and to the anchor of best shape IoU (``torchvision.ops.box_iou``). Loss: BCE on the centre offsets and
objectness (predictions overlapping a ground truth by more than ``ignore_iou`` are not pushed to 0), squared error on
the log size ratios, cross-entropy on the cell classes; summed per image. In eval mode the model returns the raw grid
(and its anchors), so it exports as is; :func:`decode`: score = objectness x class probability, then per-class NMS
(``torchvision.ops.batched_nms``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import batched_nms, box_iou

from cvkit.nn.small_fpn import SmallFPN, conv_bn

DEFAULT_ANCHORS = ((0.12, 0.12), (0.25, 0.25), (0.45, 0.45))
SCORE_THRESH = 0.01
NMS_IOU = 0.5
MAX_DETECTIONS = 100


class YoloGrid(nn.Module):
    def __init__(self, num_classes: int, img_size: int, grid: int | None = None,
                 anchors: tuple[tuple[float, float], ...] = DEFAULT_ANCHORS, width: int = 96,
                 ignore_iou: float = 0.6) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.grid = int(grid or max(1, img_size // 16))
        self.num_anchors = len(anchors)
        self.register_buffer("anchors", torch.tensor(anchors, dtype=torch.float32), persistent=False)
        self.backbone = SmallFPN(out_channels=width, out_stride=16)
        self.head = nn.Sequential(conv_bn(width, width), nn.Conv2d(width, 5 * self.num_anchors + num_classes, 1))
        with torch.no_grad():  # objectness starts near 0.02 so empty cells do not swamp the first steps
            self.head[-1].bias[4 : 5 * self.num_anchors : 5] = -4.0
        self.ignore_iou = ignore_iou

    def raw(self, images: torch.Tensor) -> torch.Tensor:
        """The ``(N, S, S, 5B + C)`` output."""
        y = self.head(self.backbone(images))
        if y.shape[-1] != self.grid or y.shape[-2] != self.grid:
            y = F.adaptive_avg_pool2d(y, self.grid)
        return y.permute(0, 2, 3, 1)

    def forward(self, images: torch.Tensor, targets: list[dict[str, torch.Tensor]] | None = None) -> Any:
        out = self.raw(images)
        size = (images.shape[-2], images.shape[-1])
        if targets is not None:
            return self.loss(out, targets, size)
        return {"grid": out, "anchors": self.anchors[None].expand(out.shape[0], -1, -1)}

    def loss(self, out: torch.Tensor, targets: list[dict[str, torch.Tensor]],
             size: tuple[int, int]) -> dict[str, torch.Tensor]:
        out = out.float()  # the loss in float32, also under autocast
        boxes, cls = split(out, self.num_anchors)
        n, s = out.shape[0], self.grid
        h, w = size
        pred_xyxy = decode_boxes(boxes.detach(), self.anchors, size)
        obj_t = torch.zeros(boxes.shape[:4], device=out.device)
        obj_w = torch.ones_like(obj_t)
        xy_l, wh_l, cls_l = [], [], []
        for i, t in enumerate(targets):
            gt = t["boxes"].to(out.dtype)
            if len(gt) == 0:
                continue
            ious = box_iou(pred_xyxy[i].reshape(-1, 4), gt).amax(1).reshape(obj_w[i].shape)
            obj_w[i][ious > self.ignore_iou] = 0.0
            gw, gh = (gt[:, 2] - gt[:, 0]).clamp(min=1), (gt[:, 3] - gt[:, 1]).clamp(min=1)
            gx, gy = (gt[:, 0] + gt[:, 2]) / 2 / w * s, (gt[:, 1] + gt[:, 3]) / 2 / h * s
            shapes = torch.stack([torch.zeros_like(gw), torch.zeros_like(gw), gw / w, gh / h], 1)
            anchor_boxes = torch.cat([torch.zeros_like(self.anchors), self.anchors], 1).to(out.dtype)
            a = box_iou(shapes, anchor_boxes).argmax(1)
            cj, ci = gx.floor().clamp(0, s - 1).long(), gy.floor().clamp(0, s - 1).long()
            p = boxes[i, ci, cj, a]
            obj_t[i, ci, cj, a] = 1.0
            obj_w[i, ci, cj, a] = 1.0
            scale = 2.0 - gw * gh / (w * h)  # small boxes weigh more, as in YOLOv3
            xy_t = torch.stack([gx - cj, gy - ci], 1).clamp(0, 1)
            xy_l.append((F.binary_cross_entropy_with_logits(p[:, :2], xy_t, reduction="none").sum(1) * scale).sum())
            wh_t = torch.stack([(gw / w / self.anchors[a, 0]).log(), (gh / h / self.anchors[a, 1]).log()], 1)
            wh_l.append((((p[:, 2:4] - wh_t) ** 2).sum(1) * scale).sum())
            cls_l.append(F.cross_entropy(cls[i, ci, cj], t["labels"].long(), reduction="sum"))
        zero = out.sum() * 0.0
        obj = F.binary_cross_entropy_with_logits(boxes[..., 4], obj_t, weight=obj_w, reduction="sum")
        return {
            "box_xy": (sum(xy_l) if xy_l else zero) / n,
            "box_wh": (sum(wh_l) if wh_l else zero) / n,
            "objectness": obj / n,
            "class": (sum(cls_l) if cls_l else zero) / n,
        }


def split(out: torch.Tensor, num_anchors: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, S, S, 5B + C)`` -> per-anchor ``(N, S, S, B, 5)`` and per-cell class logits ``(N, S, S, C)``."""
    n, s = out.shape[0], out.shape[1]
    return out[..., : 5 * num_anchors].reshape(n, s, s, num_anchors, 5), out[..., 5 * num_anchors:]


def decode_boxes(boxes: torch.Tensor, anchors: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(N, S, S, B, 4)`` xyxy boxes in input pixels; ``anchors`` ``(B, 2)`` as fractions of the image."""
    s = boxes.shape[1]
    h, w = size
    ar = torch.arange(s, device=boxes.device, dtype=boxes.dtype)
    cx = (ar[None, None, :, None] + boxes[..., 0].sigmoid()) / s * w
    cy = (ar[None, :, None, None] + boxes[..., 1].sigmoid()) / s * h
    bw = anchors[:, 0].to(boxes.dtype) * w * boxes[..., 2].clamp(max=8).exp()
    bh = anchors[:, 1].to(boxes.dtype) * h * boxes[..., 3].clamp(max=8).exp()
    return torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], -1)


@torch.no_grad()
def decode(raw: dict[str, torch.Tensor], image_size: tuple[int, int], score_thresh: float = SCORE_THRESH,
           nms_iou: float = NMS_IOU, max_detections: int = MAX_DETECTIONS) -> list[dict[str, torch.Tensor]]:
    """Detections in input pixels from the raw grid (also that of an exported model): objectness x class
    probability, then per-class NMS."""
    out, anchors = raw["grid"].float(), raw["anchors"][0].float()
    boxes, cls = split(out, len(anchors))
    xyxy = decode_boxes(boxes, anchors, image_size)
    num_classes = cls.shape[-1]
    scores = boxes[..., 4].sigmoid()[..., None] * cls.softmax(-1)[..., None, :]  # (N, S, S, B, C)
    h, w = image_size
    result = []
    for i in range(out.shape[0]):
        sc = scores[i].reshape(-1, num_classes)
        bx = xyxy[i].reshape(-1, 4)
        idx, lab = torch.nonzero(sc >= score_thresh, as_tuple=True)
        b, s_ = bx[idx], sc[idx, lab]
        if len(s_) > 4 * max_detections:
            top = s_.topk(4 * max_detections).indices
            b, s_, lab = b[top], s_[top], lab[top]
        b = torch.stack([b[:, 0].clamp(0, w), b[:, 1].clamp(0, h), b[:, 2].clamp(0, w), b[:, 3].clamp(0, h)], 1)
        keep = batched_nms(b, s_, lab, nms_iou)[:max_detections]
        result.append({"boxes": b[keep], "scores": s_[keep], "labels": lab[keep]})
    return result


def build(num_classes: int, img_size: int, args: dict[str, Any], **_: Any) -> YoloGrid:
    if "anchors" in args:
        args["anchors"] = tuple(tuple(float(v) for v in a) for a in args["anchors"])
    return YoloGrid(num_classes, img_size, **args)
