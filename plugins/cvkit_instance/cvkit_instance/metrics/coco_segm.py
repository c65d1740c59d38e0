"""COCO mask (``segm``) and box (``bbox``) AP through pycocotools' own ``COCOeval``: the 12 numbers of each are
pycocotools' to the last digit.

Ground truth is the detection plugin's in-memory COCO dict (image and category ids, ``area``, ``iscrowd``; VOC
difficult objects become crowd regions) with each object's ``segmentation`` added: COCO's own polygons and RLE as
they are in the file, VOC ``SegmentationObject`` masks as RLE (with their mask area as ``area``). Mask results carry
no ``bbox``, so that pycocotools takes each detection's area from its mask, as for the ground truth (box results are
scored separately). With no detection at all, ``loadRes`` would fail: an empty result set is evaluated instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cvkit_detect.metrics.coco_eval import STAT_NAMES, gt_dataset, quiet
from cvkit_instance.datasets.target import gt_segmentations


def gt_with_masks(targets: Sequence[dict[str, Any]], image_ids: Sequence[int], category_ids: Sequence[int],
                  names: Sequence[str]) -> dict[str, Any]:
    from pycocotools import mask as mask_utils

    gt = gt_dataset(targets, image_ids, category_ids, names)
    anns = iter(gt["annotations"])
    for t in targets:
        for src, segm in zip(t["segmentation"], gt_segmentations(t), strict=True):
            a = next(anns)
            a["segmentation"] = segm
            if isinstance(src, dict) and "png" in src:  # VOC: the mask's own area decides small/medium/large
                a["area"] = float(mask_utils.area(segm))
                if a["area"] == 0:
                    a["iscrowd"] = 1  # an object listed in the XML but not drawn: nothing to match, ignored
    return gt


def segm_results(predictions: Sequence[dict[str, Any]], image_ids: Sequence[int],
                 category_ids: Sequence[int]) -> list[dict[str, Any]]:
    out = []
    for p, image_id in zip(predictions, image_ids, strict=True):
        for rle, s, lab in zip(p["masks"], p["scores"], p["labels"], strict=True):
            out.append({"image_id": image_id, "category_id": int(category_ids[int(lab)]),
                        "segmentation": {"size": list(rle["size"]), "counts": rle["counts"]}, "score": float(s)})
    return out


def coco_evaluate(gt: dict[str, Any], results: list[dict[str, Any]], iou_type: str) -> tuple[dict[str, float], Any]:
    """Run COCOeval (``segm`` or ``bbox``) and return ``({name: value} for the 12 stats, the COCOeval object)``."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with quiet():
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        if results:
            coco_dt = coco_gt.loadRes(results)
        else:
            coco_dt = COCO()
            coco_dt.dataset = {"info": {}, "images": list(gt["images"]), "categories": list(gt["categories"]),
                               "annotations": []}
            coco_dt.createIndex()
        ev = COCOeval(coco_gt, coco_dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {n: float(v) for n, v in zip(STAT_NAMES, ev.stats, strict=True)}, ev
