"""The instance evaluator: accumulates per-image predictions (boxes, scores, labels, RLE masks) and raw targets,
then scores them with COCOeval twice: ``segm_*`` (mask IoU) and ``bbox_*`` (box IoU), 12 numbers each (AP, AP50,
AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl). Primary: ``segm_AP50``. Predictions and targets are in
original image pixels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from cvkit.task import DatasetInfo, Evaluator
from cvkit_detect.metrics.coco_eval import STAT_NAMES, per_class, pr_curves, results_list
from cvkit_detect.metrics.evaluator import as_numpy, coco_ids
from cvkit_instance.metrics.coco_segm import coco_evaluate, gt_with_masks, segm_results


def as_prediction(prediction: dict[str, Any]) -> dict[str, Any]:
    """Boxes/scores/labels as numpy arrays (detection's convention) and ``masks`` as a list of RLE dicts."""
    p: dict[str, Any] = as_numpy(prediction)
    p["masks"] = list(prediction.get("masks") or [])
    if len(p["masks"]) != len(p["scores"]):
        raise ValueError(f"{len(p['masks'])} masks for {len(p['scores'])} detections")
    return p


class InstanceEvaluator(Evaluator):
    primary = "segm_AP50"

    def __init__(self, info: DatasetInfo, metric: str | None = None) -> None:
        self.info = info
        self.items: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._details: dict[str, Any] = {}

    def update(self, indices: Sequence[int], predictions: Sequence[Any], targets: Sequence[Any]) -> None:
        for i, p, t in zip(indices, predictions, targets, strict=True):
            self.items[int(i)] = (as_prediction(p), t)

    def state(self) -> Any:
        return self.items

    def merge(self, states: Iterable[Any]) -> None:
        merged: dict[int, Any] = {}
        for s in states:
            merged.update(s)
        self.items = merged

    def compute(self) -> dict[str, float]:
        indices = sorted(self.items)
        if not indices:
            self._details = {"num_images": 0}
            return {f"{kind}_{n}": 0.0 for kind in ("segm", "bbox") for n in STAT_NAMES}
        preds = [self.items[i][0] for i in indices]
        targets = [self.items[i][1] for i in indices]
        image_ids, cat_ids = coco_ids(self.info, targets, indices)
        gt = gt_with_masks(targets, image_ids, cat_ids, self.info.classes)
        segm, ev_segm = coco_evaluate(gt, segm_results(preds, image_ids, cat_ids), "segm")
        bbox, ev_bbox = coco_evaluate(gt, results_list(preds, image_ids, cat_ids), "bbox")
        self._details = {"per_class_segm": per_class(ev_segm, self.info.classes),
                         "per_class_bbox": per_class(ev_bbox, self.info.classes),
                         "pr_curves": pr_curves(ev_segm, self.info.classes), "num_images": len(indices)}
        return {**{f"segm_{k}": v for k, v in segm.items()}, **{f"bbox_{k}": v for k, v in bbox.items()}}

    def details(self) -> dict[str, Any]:
        return self._details

