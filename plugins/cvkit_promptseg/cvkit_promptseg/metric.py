"""mIoU of promptable segmentation: the mean over objects of the IoU between the predicted mask and the object's
mask after 1, 2, ... k simulated clicks (the SAM paper's single-point and interactive evaluations) and for the
object's box as the prompt.

IoU = |pred AND gt| / |pred OR gt| in original pixels, leaving out pixels the annotation marks as void (VOC's
255 border), as pycocotools' ``iou`` computes it for non-crowd masks when nothing is void. An object whose
prediction is missing scores 0; an object without pixels is not counted. Objects are pooled over the whole split
(each object counts once).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from cvkit.contract import DatasetInfo, Evaluator
from cvkit.vision.masks import decode_rle
from cvkit_promptseg.datasets.target import object_masks
from cvkit_promptseg.prompts import EVAL_CLICKS


def mask_iou(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """IoU of two boolean masks, void pixels (``ignore``) left out; 0 when both are empty."""
    pred, gt = pred.astype(bool), gt.astype(bool)
    if ignore is not None:
        pred, gt = pred & ~ignore, gt & ~ignore
    union = int(np.count_nonzero(pred | gt))
    return int(np.count_nonzero(pred & gt)) / union if union else 0.0


def metric_names(clicks: int = EVAL_CLICKS) -> list[str]:
    return [f"miou_{k}click" for k in range(1, clicks + 1)] + ["miou_box"]


class PromptSegEvaluator(Evaluator):
    primary = "miou_1click"

    def __init__(self, info: DatasetInfo, clicks: int = EVAL_CLICKS) -> None:
        self.info, self.clicks = info, clicks
        self.rows: dict[int, list[list[float]]] = {}  # sample index -> per object [iou after 1..k clicks, box]

    def update(self, indices: Sequence[int], predictions: Sequence[Any], targets: Sequence[Any]) -> None:
        for i, pred, target in zip(indices, predictions, targets, strict=True):
            gts, ignore = object_masks(target)
            found = (pred or {}).get("objects") or []
            rows = []
            for k, gt in enumerate(gts):
                if not gt.any():  # nothing to point at: not counted
                    continue
                obj = found[k] if k < len(found) else {}
                masks = [decode_rle(m) for m in obj.get("masks") or []]
                row = []
                for c in range(self.clicks):
                    m = masks[min(c, len(masks) - 1)] if masks else None  # no error left: the mask stays
                    row.append(mask_iou(m, gt, ignore) if m is not None else 0.0)
                box = obj.get("box_mask")
                row.append(mask_iou(decode_rle(box), gt, ignore) if box is not None else 0.0)
                rows.append(row)
            self.rows[int(i)] = rows

    def state(self) -> Any:
        return self.rows

    def merge(self, states: Iterable[Any]) -> None:
        merged: dict[int, list[list[float]]] = {}
        for s in states:
            merged.update(s)
        self.rows = merged

    def table(self) -> np.ndarray:
        rows = [r for i in sorted(self.rows) for r in self.rows[i]]
        return np.asarray(rows, dtype=np.float64).reshape(-1, self.clicks + 1)

    def compute(self) -> dict[str, float]:
        t = self.table()
        means = t.mean(0) if len(t) else np.zeros(self.clicks + 1)
        out = {name: float(v) for name, v in zip(metric_names(self.clicks), means, strict=True)}
        out["objects"] = float(len(t))
        return out

    def details(self) -> dict[str, Any]:
        t = self.table()
        if not len(t):
            return {}
        return {"click_curve": [float(v) for v in t[:, : self.clicks].mean(0)],
                "iou_at_least_0.9": {name: float((t[:, j] >= 0.9).mean())
                                     for j, name in enumerate(metric_names(self.clicks))}}
