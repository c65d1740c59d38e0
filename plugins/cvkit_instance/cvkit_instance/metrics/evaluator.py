"""The instance evaluator: accumulates per-image predictions (boxes, scores, labels, RLE masks) and raw targets,
then scores them with COCOeval twice: ``segm_*`` (mask IoU) and ``bbox_*`` (box IoU), 12 numbers each (AP, AP50,
AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl). Primary: ``segm_AP50``. Predictions and targets are in
original image pixels.
"""

from __future__ import annotations

from typing import Any

from cvkit.contract import DatasetInfo, SampleEvaluator
from cvkit.vision.detections import as_numpy, coco_ids, ground_truth, results_list
from cvkit.vision.evaluate import BOX_STATS, coco_evaluate
from cvkit_instance.metrics.coco_segm import mask_targets

STAT_NAMES = BOX_STATS


def as_prediction(prediction: dict[str, Any]) -> dict[str, Any]:
    """Boxes/scores/labels as numpy arrays and ``masks`` as a list of RLE dicts."""
    p: dict[str, Any] = as_numpy(prediction)
    p["masks"] = list(prediction.get("masks") or [])
    if len(p["masks"]) != len(p["scores"]):
        raise ValueError(f"{len(p['masks'])} masks for {len(p['scores'])} detections")
    return p


class InstanceEvaluator(SampleEvaluator):
    primary = "segm_AP50"

    def __init__(self, info: DatasetInfo, metric: str | None = None) -> None:
        super().__init__()
        self.info = info
        self._details: dict[str, Any] = {}

    def prepare(self, prediction: Any, target: Any) -> tuple[Any, Any]:
        return as_prediction(prediction), target

    def compute(self) -> dict[str, float]:
        indices, preds, targets = self.sorted_items()
        if not indices:
            self._details = {"num_images": 0}
            return {f"{kind}_{n}": 0.0 for kind in ("segm", "bbox") for n in BOX_STATS}
        image_ids, cat_ids = coco_ids(self.info, targets, indices)
        gt = ground_truth(mask_targets(targets), image_ids, self.info, masks=True)
        segm = coco_evaluate(gt, results_list(preds, image_ids, cat_ids, masks=True), "segm")
        bbox = coco_evaluate(gt, results_list(preds, image_ids, cat_ids), "bbox")
        self._details = {"per_class_segm": segm.per_class(), "per_class_bbox": bbox.per_class(),
                         "pr_curves": segm.pr_curves(), "confidence_curves": segm.confidence_curves(),
                         "num_images": len(indices)}
        return {**{f"segm_{k}": v for k, v in segm.stats.items()}, **{f"bbox_{k}": v for k, v in bbox.stats.items()}}

    def details(self) -> dict[str, Any]:
        return self._details
