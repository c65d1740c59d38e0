"""The ground truth of mask (``segm``) and box (``bbox``) AP, scored by the core's
:func:`cvkit.vision.evaluate.coco_evaluate` (pycocotools' numbers, bit for bit).

Each object keeps its ``segmentation``: COCO's own polygons and RLE as they are in the file, VOC
``SegmentationObject`` masks as RLE with their mask area as ``area`` (an object listed in the XML but not drawn
becomes a crowd region: nothing to match, ignored). VOC difficult objects become crowd regions. Mask results carry no
``bbox``, so that pycocotools takes each detection's area from its mask, as for the ground truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cvkit_instance.datasets.target import gt_segmentations


def mask_targets(targets: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Targets whose ``segmentation`` pycocotools takes as ground truth (VOC PNG objects as RLE, with mask areas)."""
    from pycocotools import mask as mask_utils

    out = []
    for t in targets:
        segms = gt_segmentations(t)
        area, crowd = np.array(t["area"], np.float64), np.array(t["iscrowd"], bool)
        for j, (src, segm) in enumerate(zip(t["segmentation"], segms, strict=True)):
            if isinstance(src, dict) and "png" in src:  # VOC: the mask's own area decides small/medium/large
                area[j] = float(mask_utils.area(segm))
                crowd[j] = crowd[j] or area[j] == 0
        out.append({**t, "segmentation": segms, "area": area, "iscrowd": crowd})
    return out
