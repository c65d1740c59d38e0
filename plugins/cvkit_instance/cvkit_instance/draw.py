"""Instance masks (``draw_segmentation_masks``) and labelled boxes (the core's box drawing) on RGB uint8 images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from cvkit.vision.detections import ignored
from cvkit.vision.draw import DRAW_CONF, MAX_DRAWN, colour, compare_boxes, draw_boxes, enlarge, pick_drawn
from cvkit_instance.datasets.target import object_masks
from cvkit_instance.metrics.evaluator import as_prediction


def decode(rles: Sequence[dict[str, Any]]) -> np.ndarray:
    from pycocotools import mask as mask_utils

    if not rles:
        return np.zeros((0, 0, 0), bool)
    fixed = [{"size": list(r["size"]), "counts": r["counts"].encode("ascii") if isinstance(r["counts"], str)
              else r["counts"]} for r in rles]
    return np.moveaxis(mask_utils.decode(fixed), -1, 0).astype(bool)


def overlay_masks(image: np.ndarray, masks: np.ndarray, labels: Sequence[int], alpha: float = 0.5) -> np.ndarray:
    from torchvision.utils import draw_segmentation_masks

    if len(masks) == 0:
        return np.ascontiguousarray(image.copy())
    if masks.shape[1:] != image.shape[:2]:
        import cv2

        masks = np.stack([cv2.resize(m.astype(np.uint8), (image.shape[1], image.shape[0]),
                                     interpolation=cv2.INTER_NEAREST) for m in masks]).astype(bool)
    img = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
    out = draw_segmentation_masks(img, torch.from_numpy(masks.astype(bool)), alpha=alpha,
                                  colors=[colour(int(k)) for k in labels])
    return np.ascontiguousarray(out.permute(1, 2, 0).numpy())


def draw_prediction(image: np.ndarray, prediction: Any, names: Sequence[str], conf: float = DRAW_CONF,
                    limit: int = MAX_DRAWN) -> np.ndarray:
    """Detections scoring at least ``conf`` (evaluation keeps every score down to 0.05; drawing all of them would
    bury the image), at most ``limit``, best on top. Small images are drawn enlarged."""
    p = as_prediction(prediction)
    keep = pick_drawn(p["scores"], conf, limit)[::-1]
    labels = p["labels"][keep]
    image, k = enlarge(image)
    out = overlay_masks(image, decode([p["masks"][i] for i in keep]), labels)
    return draw_boxes(out, p["boxes"][keep] * k, labels, names, scores=p["scores"][keep])


def draw_target(image: np.ndarray, target: dict[str, Any], names: Sequence[str]) -> np.ndarray:
    """Ground truth; crowd regions and difficult objects have dashed boxes. Small images are drawn enlarged."""
    masks = object_masks({**target, "size": image.shape[:2]}).astype(bool)
    image, k = enlarge(image)
    out = overlay_masks(image, masks, target["labels"])
    return draw_boxes(out, np.asarray(target["boxes"]) * k, target["labels"], names, dashed=ignored(target))


def compare(image: np.ndarray, prediction: Any, target: dict[str, Any], names: Sequence[str]
            ) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Validation picture: masks under the core's box comparison (missed objects and false positives in red, boxes
    matched at IoU 0.5). Returns both pictures and the counts of missed objects and false positives."""
    p = as_prediction(prediction)
    keep = pick_drawn(p["scores"], DRAW_CONF, MAX_DRAWN)
    truth_masks = object_masks({**target, "size": image.shape[:2]}).astype(bool)
    truth_bg = overlay_masks(image, truth_masks, target["labels"])
    pred_bg = overlay_masks(image, decode([p["masks"][i] for i in keep]), p["labels"][keep])
    drawn = {k: np.asarray(v)[keep] for k, v in p.items() if k in ("boxes", "scores", "labels")}
    truth, _, missed, false = compare_boxes(truth_bg, drawn, target, names, conf=0.0)
    _, pred, _, _ = compare_boxes(pred_bg, drawn, target, names, conf=0.0)
    return truth, pred, missed, false
