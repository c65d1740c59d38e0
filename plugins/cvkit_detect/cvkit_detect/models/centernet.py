"""``centernet``: objects as points (Zhou et al. 2019) on a small stride-4 CNN. The default detector.

Heads on the stride-4 map: a class heatmap (penalty-reduced focal loss against Gaussian peaks at box centres,
TTFNet-style elliptical sigmas), the sub-cell centre offset (L1) and the log box size in cells (L1). In eval mode
the model returns these raw maps (so it exports to ONNX as is); :func:`decode` keeps the 3x3 local maxima of the
heatmap (no NMS needed), the top 100 scoring at least 0.01.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cvkit.nn.small_fpn import SmallFPN

SCORE_THRESH = 0.01
MAX_DETECTIONS = 100


def _head(cin: int, cout: int, hidden: int, bias: float = 0.0) -> nn.Sequential:
    last = nn.Conv2d(hidden, cout, 1)
    nn.init.constant_(last.bias, bias)
    return nn.Sequential(nn.Conv2d(cin, hidden, 3, 1, 1), nn.ReLU(inplace=True), last)


def focal_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """CornerNet's penalty-reduced focal loss, summed and divided by the number of peaks."""
    p = logits.sigmoid().clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    pos_loss = -torch.log(p) * (1 - p).pow(alpha) * pos
    neg_loss = -torch.log(1 - p) * p.pow(alpha) * (1 - target).pow(beta) * (1 - pos)
    return (pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1.0)


class CenterNet(nn.Module):
    def __init__(self, num_classes: int, width: int = 64, head: int = 48, wh_weight: float = 1.0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.backbone = SmallFPN(out_channels=width, out_stride=4)
        self.stride = self.backbone.stride
        self.heatmap = _head(width, num_classes, head, bias=-2.19)  # sigmoid(-2.19) = 0.1: a stable start
        self.offset = _head(width, 2, head)
        self.size = _head(width, 2, head)
        self.wh_weight = wh_weight

    def forward(self, images: torch.Tensor, targets: list[dict[str, torch.Tensor]] | None = None) -> Any:
        f = self.backbone(images)
        heat, off, size = self.heatmap(f), self.offset(f), self.size(f)
        if targets is not None:
            return self.loss(heat, off, size, targets)
        return {"heatmap": heat, "offset": off, "size": size}

    def loss(self, heat: torch.Tensor, off: torch.Tensor, size: torch.Tensor,
             targets: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        heat, off, size = heat.float(), off.float(), size.float()  # the loss in float32, also under autocast
        b, c, h, w = heat.shape
        s = float(self.stride)
        heat_t = torch.zeros_like(heat)
        ys = torch.arange(h, device=heat.device, dtype=heat.dtype)[:, None]
        xs = torch.arange(w, device=heat.device, dtype=heat.dtype)[None, :]
        pred_off, pred_size, tgt_off, tgt_size = [], [], [], []
        for i, t in enumerate(targets):
            boxes = t["boxes"].to(heat.dtype)
            if len(boxes) == 0:
                continue
            ctr = (boxes[:, :2] + boxes[:, 2:]) / (2 * s)
            wh = ((boxes[:, 2:] - boxes[:, :2]) / s).clamp(min=1e-2)
            cell = ctr.floor().clamp(min=0)
            cell[:, 0].clamp_(max=w - 1)
            cell[:, 1].clamp_(max=h - 1)
            sig = (0.54 * wh / 6).clamp(min=0.3)
            g = torch.exp(-((xs[None] - cell[:, 0, None, None]) ** 2) / (2 * sig[:, 0, None, None] ** 2)
                          - ((ys[None] - cell[:, 1, None, None]) ** 2) / (2 * sig[:, 1, None, None] ** 2))
            index = t["labels"].long()[:, None].expand(-1, h * w)
            heat_t[i].view(c, -1).scatter_reduce_(0, index, g.flatten(1), "amax")
            idx = (cell[:, 1] * w + cell[:, 0]).long()
            pred_off.append(off[i].flatten(1)[:, idx].T)
            pred_size.append(size[i].flatten(1)[:, idx].T)
            tgt_off.append(ctr - cell)
            tgt_size.append(wh.log())
        loss_heat = focal_loss(heat, heat_t)
        if pred_off:
            n = sum(len(p) for p in pred_off)
            loss_off = F.l1_loss(torch.cat(pred_off), torch.cat(tgt_off), reduction="sum") / n
            loss_size = F.l1_loss(torch.cat(pred_size), torch.cat(tgt_size), reduction="sum") / n
        else:
            loss_off = loss_size = (off.sum() + size.sum()) * 0.0
        return {"heatmap": loss_heat, "offset": loss_off, "size": self.wh_weight * loss_size}


@torch.no_grad()
def decode(raw: dict[str, torch.Tensor], image_size: tuple[int, int], score_thresh: float = SCORE_THRESH,
           max_detections: int = MAX_DETECTIONS) -> list[dict[str, torch.Tensor]]:
    """Detections in input pixels from the raw head outputs (also those of an exported model)."""
    heat, off, size = raw["heatmap"].float(), raw["offset"].float(), raw["size"].float()
    b, c, h, w = heat.shape
    stride = image_size[0] / h
    p = heat.sigmoid()
    p = p * (F.max_pool2d(p, 3, 1, 1) == p)
    k = min(max_detections, c * h * w)
    scores, idx = p.flatten(1).topk(k)
    labels = idx // (h * w)
    cell = idx % (h * w)
    cy, cx = (cell // w).to(p.dtype), (cell % w).to(p.dtype)
    out = []
    for i in range(b):
        o = off[i].flatten(1)[:, cell[i]]
        wh = size[i].flatten(1)[:, cell[i]].clamp(max=10.0).exp()
        x = (cx[i] + o[0]) * stride
        y = (cy[i] + o[1]) * stride
        bw, bh = wh[0] * stride, wh[1] * stride
        boxes = torch.stack([x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2], 1)
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, image_size[1])
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, image_size[0])
        keep = scores[i] >= score_thresh
        out.append({"boxes": boxes[keep], "scores": scores[i][keep], "labels": labels[i][keep]})
    return out


def build(num_classes: int, img_size: int, args: dict[str, Any], **_: Any) -> CenterNet:
    return CenterNet(num_classes, **args)
