"""Instance masks (``draw_segmentation_masks``) and labelled boxes (the core's box drawing) on RGB uint8 images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from cvkit.vision.detections import ignored
from cvkit.vision.draw import colour, draw_boxes
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


def enlarge(image: np.ndarray, boxes: np.ndarray, at_least: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """A small image scaled up (nearest) by an integer factor so that labels stay legible, with its boxes."""
    import cv2

    k = int(np.ceil(at_least / max(1, min(image.shape[:2]))))
    if k <= 1:
        return image, boxes
    big = cv2.resize(image, (image.shape[1] * k, image.shape[0] * k), interpolation=cv2.INTER_NEAREST)
    return big, np.asarray(boxes, np.float64) * k


def draw_prediction(image: np.ndarray, prediction: Any, names: Sequence[str], min_score: float = 0.3) -> np.ndarray:
    """Detections scoring at least ``min_score`` (evaluation keeps every score down to 0.05; drawing all of them
    would bury the image). Images under 256 px are drawn enlarged."""
    p = as_prediction(prediction)
    keep = np.flatnonzero(p["scores"] >= min_score)
    labels = p["labels"][keep]
    image, boxes = enlarge(image, p["boxes"][keep])
    out = overlay_masks(image, decode([p["masks"][i] for i in keep]), labels)
    return draw_boxes(out, boxes, labels, names, scores=p["scores"][keep])


def draw_target(image: np.ndarray, target: dict[str, Any], names: Sequence[str]) -> np.ndarray:
    """Ground truth; crowd regions and difficult objects have dashed boxes. Images under 256 px are drawn enlarged."""
    masks = object_masks({**target, "size": image.shape[:2]}).astype(bool)
    image, boxes = enlarge(image, np.asarray(target["boxes"]))
    out = overlay_masks(image, masks, target["labels"])
    return draw_boxes(out, boxes, target["labels"], names, dashed=ignored(target))
