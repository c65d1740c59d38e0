"""COCO person keypoints (``person_keypoints_<split>2017.json``).

``--data coco:ROOT`` with ``ROOT/annotations/person_keypoints_<split>2017.json`` and images in
``ROOT/<split>2017/``, or ``--data coco:FILE.json`` with images in ``--images DIR``, else beside the file (or in
its ``images/`` folder, or ``../<split>2017/``). The keypoint category is the one that lists ``keypoints`` (COCO's
``person``, id 1); its ``keypoints`` names and ``skeleton`` (1-based pairs) define the keypoint set, so any count
works (OKS sigmas: COCO's for 17 keypoints, else a uniform default, see :mod:`cvkit_pose.skeleton`).

Annotations keep COCO's numbers untouched: ``keypoints`` ``[x, y, v] * K`` (0-based pixel indices, v 0 not
labelled / 1 labelled hidden / 2 visible), ``bbox``, ``area``, ``iscrowd``, ``num_keypoints``. Crowd regions and
people without labelled keypoints are kept for the metric (pycocotools ignores them) but never cropped or trained
on. Images without people are kept. Only annotations are parsed here, by the core's :mod:`cvkit.vision.coco`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.vision.coco import is_coco, load_coco
from cvkit.vision.schema import ImageAnnotation
from cvkit_pose.skeleton import default_skeleton, extra_for
from cvkit_pose.target import box_crop, make_target


class CocoFormat(DatasetFormat):
    name = "coco"
    description = "COCO person_keypoints JSON (annotations/person_keypoints_<split>2017.json + <split>2017/)"

    def detect(self, path: Path) -> bool:
        return is_coco(path, "person_keypoints")

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        aset = load_coco(path, split, kind="person_keypoints", images=options.get("images"),
                         skip_bad=bool(options.get("skip_bad")))
        names = list(aset.extra["keypoint_names"])
        skeleton = aset.extra.get("skeleton")
        skeleton = default_skeleton(names) if skeleton is None else [[int(a), int(b)] for a, b in skeleton]
        targets = [_target(im, len(names)) for im in aset.images]
        extra = extra_for(names, skeleton, metric="oks", category_id=aset.extra["keypoint_category_id"],
                          category_name=aset.extra.get("keypoint_category_name") or "person",
                          image_ids=aset.image_ids())
        info = DatasetInfo(aset.name, "coco", f"coco:{path}", aset.split, names, extra)
        return RawSplit(info, [im.path for im in aset.images], targets, list(aset.files), aset.skipped)


def _target(im: ImageAnnotation, k: int) -> dict[str, Any]:
    """COCO's numbers untouched: keypoints ``(N, K, 3)``, ``bbox`` as written, ``area``, ``num_keypoints``."""
    people = im.objects
    kp = np.array([o.keypoints if o.keypoints is not None else [0.0] * (3 * k) for o in people],
                  np.float64).reshape(-1, k, 3)
    bbox = np.array([o.bbox_xywh for o in people], np.float64).reshape(-1, 4)
    boxes = np.concatenate([bbox[:, :2], bbox[:, :2] + bbox[:, 2:]], 1)
    nkp = [o.num_keypoints if o.num_keypoints is not None else int((kp[i, :, 2] > 0).sum())
           for i, o in enumerate(people)]
    return make_target(kp[..., :2], kp[..., 2], (im.height, im.width), boxes=boxes, bbox=bbox,
                       crops=np.array([box_crop(b) for b in boxes]).reshape(-1, 3),
                       area=[o.region_area() for o in people], iscrowd=[o.iscrowd for o in people],
                       num_keypoints=nkp, image_id=im.id, num_joints=k)
