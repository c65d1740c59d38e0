"""The instance evaluator: accumulates per-image predictions (boxes, scores, labels, RLE masks) and raw targets,
then scores them with COCOeval: ``segm_*`` (mask IoU) and ``bbox_*`` (box IoU), 12 numbers each (AP, AP50,
AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl). ``--metric coco`` (the default) reports both, ``segm`` or
``bbox`` one of them (half the work). Primary: ``segm_AP50`` (``bbox_AP50`` with ``--metric bbox``). Predictions
and targets are in original image pixels.
"""

from __future__ import annotations

from typing import Any

from cvkit.contract import DatasetInfo, SampleEvaluator
from cvkit.vision.detections import as_numpy, coco_ids, ground_truth, results_list
from cvkit.vision.evaluate import BOX_STATS, coco_evaluate
from cvkit_instance.metrics.coco_segm import mask_targets

STAT_NAMES = BOX_STATS
METRICS = {"coco": ("segm", "bbox"), "segm": ("segm",), "bbox": ("bbox",)}  # --metric: the IoU kinds scored


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
        self.kinds = METRICS[metric or "coco"]
        self.primary = f"{self.kinds[0]}_AP50"
        self._details: dict[str, Any] = {}

    def prepare(self, prediction: Any, target: Any) -> tuple[Any, Any]:
        return as_prediction(prediction), target

    def compute(self) -> dict[str, float]:
        indices, preds, targets = self.sorted_items()
        if not indices:
            self._details = {"num_images": 0}
            return {f"{kind}_{n}": 0.0 for kind in self.kinds for n in BOX_STATS}
        image_ids, cat_ids = coco_ids(self.info, targets, indices)
        gt = ground_truth(mask_targets(targets), image_ids, self.info, masks=True)  # the same areas for both kinds
        scores = {kind: coco_evaluate(gt, results_list(preds, image_ids, cat_ids, masks=kind == "segm"), kind)
                  for kind in self.kinds}
        first = scores[self.kinds[0]]
        self._details = {**{f"per_class_{kind}": s.per_class() for kind, s in scores.items()},
                         "pr_curves": first.pr_curves(), "confidence_curves": first.confidence_curves(),
                         "num_images": len(indices)}
        return {f"{kind}_{k}": v for kind, s in scores.items() for k, v in s.stats.items()}

    def details(self) -> dict[str, Any]:
        return self._details
