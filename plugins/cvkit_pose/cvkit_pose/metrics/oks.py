"""COCO keypoint AP as pycocotools' ``COCOeval(iouType="keypoints")`` computes it: the 10 numbers are pycocotools'.

The evaluation runs in cvkit's ``FastCOCOeval``, a drop-in subclass of pycocotools' class that gives the same
results bit for bit in a fraction of the time (the plugin's tests compare with pycocotools itself).

Ground truth is rebuilt in memory from raw targets with COCO's own numbers (``keypoints``, ``bbox``, ``area``,
``iscrowd``, ``num_keypoints``, image and category ids), so scoring a split here and running pycocotools on the
original file give the same result. ``kpt_oks_sigmas`` are the dataset's (``DatasetInfo.extra["sigmas"]``: COCO's
17 when there are 17 keypoints, else a uniform default). With no prediction at all ``loadRes`` would fail: an empty
result set is evaluated instead. Values of -1 are pycocotools' "no ground truth in this area range".
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


def gt_dataset(targets: Sequence[dict[str, Any]], category_id: int, names: Sequence[str]) -> dict[str, Any]:
    images, anns = [], []
    for t in targets:
        h, w = t["size"]
        images.append({"id": t["image_id"], "height": h, "width": w, "file_name": str(t["image_id"])})
        for p in range(len(t["keypoints"])):
            kp = np.concatenate([t["keypoints"][p], np.asarray(t["visible"][p], np.float64)[:, None]], 1)
            anns.append({
                "id": len(anns) + 1, "image_id": t["image_id"], "category_id": int(category_id),
                "keypoints": kp.ravel().tolist(), "num_keypoints": int(t["num_keypoints"][p]),
                "bbox": [float(v) for v in t["bbox"][p]], "area": float(t["area"][p]),
                "iscrowd": int(t["iscrowd"][p]),
            })
    cats = [{"id": int(category_id), "name": "person", "keypoints": list(names)}]
    return {"info": {}, "licenses": [], "images": images, "annotations": anns, "categories": cats}


def results_list(predictions: Sequence[dict[str, Any]], image_ids: Sequence[Any],
                 category_id: int) -> list[dict[str, Any]]:
    """COCO keypoint results (``keypoints`` ``[x, y, score] * K``, person ``score``) in prediction order."""
    out = []
    for p, image_id in zip(predictions, image_ids, strict=True):
        for kp, s in zip(p["keypoints"], p["scores"], strict=True):
            out.append({"image_id": image_id, "category_id": int(category_id),
                        "keypoints": np.asarray(kp, np.float64).ravel().tolist(), "score": float(s)})
    return out


def oks_evaluate(gt: dict[str, Any], results: list[dict[str, Any]], sigmas: Sequence[float]) -> tuple[
        dict[str, float], Any]:
    """Run COCOeval (keypoints) with ``sigmas``; returns ``({name: value} for the 10 stats, the COCOeval)``."""
    from pycocotools.coco import COCO

    from cvkit.metrics.cocoeval import FastCOCOeval as COCOeval

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress; stdout carries results only
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
        ev = COCOeval(coco_gt, coco_dt, "keypoints")
        ev.params.kpt_oks_sigmas = np.asarray(sigmas, np.float64)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {n: float(v) for n, v in zip(STAT_NAMES, ev.stats, strict=True)}, ev
