"""COCO keypoint AP as pycocotools' ``COCOeval(iouType="keypoints")`` computes it, through the core's
:func:`cvkit.vision.evaluate.coco_evaluate` (``FastCOCOeval``: pycocotools' 10 numbers bit for bit, faster).

Ground truth is rebuilt from raw targets with COCO's own numbers (``keypoints``, ``bbox``, ``area``, ``iscrowd``,
``num_keypoints``, image and category ids), so scoring a split here and running pycocotools on the original file
give the same result. ``kpt_oks_sigmas`` are the dataset's (``DatasetInfo.extra["sigmas"]``: COCO's 17 when there
are 17 keypoints, else a uniform default). Values of -1 are pycocotools' "no ground truth in this area range".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cvkit.vision.evaluate import KEYPOINT_STATS, coco_evaluate
from cvkit.vision.schema import AnnotationSet, ImageAnnotation, ObjectAnnotation

STAT_NAMES = KEYPOINT_STATS


def ground_truth(targets: Sequence[dict[str, Any]], category_id: int, names: Sequence[str]) -> AnnotationSet:
    """Raw pose targets as an AnnotationSet of one keypoint category."""
    images = []
    for t in targets:
        h, w = t["size"]
        people = []
        for p in range(len(t["keypoints"])):
            kp = np.concatenate([t["keypoints"][p], np.asarray(t["visible"][p], np.float64)[:, None]], 1)
            x, y, bw, bh = (float(v) for v in t["bbox"][p])
            people.append(ObjectAnnotation(box=(x, y, x + bw, y + bh), label=0, category_id=int(category_id),
                                           iscrowd=bool(t["iscrowd"][p]), area=float(t["area"][p]),
                                           keypoints=kp.ravel().tolist(), bbox_xywh=(x, y, bw, bh),
                                           num_keypoints=int(t["num_keypoints"][p])))
        images.append(ImageAnnotation(id=t["image_id"], path=str(t["image_id"]), width=int(w), height=int(h),
                                      objects=people))
    return AnnotationSet(name="", format="coco", split="", images=images, classes=["person"],
                         category_ids=[int(category_id)], extra={"keypoint_names": list(names)})


def results_list(predictions: Sequence[dict[str, Any]], image_ids: Sequence[Any],
                 category_id: int) -> list[dict[str, Any]]:
    """COCO keypoint results (``keypoints`` ``[x, y, score] * K``, person ``score``) in prediction order."""
    out = []
    cat = int(category_id)
    for p, image_id in zip(predictions, image_ids, strict=True):
        scores = np.asarray(p["scores"], np.float64).ravel()
        if not len(scores):
            continue
        people = np.asarray(p["keypoints"], np.float64).reshape(len(scores), -1)  # one conversion per image
        out += [{"image_id": image_id, "category_id": cat, "keypoints": kp, "score": s}
                for kp, s in zip(people.tolist(), scores.tolist(), strict=True)]
    return out


def oks_evaluate(gt: AnnotationSet, results: list[dict[str, Any]], sigmas: Sequence[float]) -> dict[str, float]:
    """The 10 keypoint stats by name."""
    return coco_evaluate(gt, results, "keypoints", sigmas=sigmas).stats
