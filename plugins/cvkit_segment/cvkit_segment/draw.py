"""Label maps drawn over RGB uint8 images with torchvision's ``draw_segmentation_masks`` (VOC colours)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from cvkit_segment.palette import colour_of


def overlay(image: np.ndarray, labels: np.ndarray | None, colours: Sequence[Sequence[int]] | None = None,
            alpha: float = 0.5, skip: Sequence[int] = (0,)) -> np.ndarray:
    """``image`` with every class of ``labels`` except ``skip`` (background) blended in its palette colour."""
    from torchvision.utils import draw_segmentation_masks

    if labels is None:
        return np.ascontiguousarray(image.copy())
    labels = np.asarray(labels)
    if labels.shape != image.shape[:2]:
        import cv2

        labels = cv2.resize(labels.astype(np.uint8), (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
    ks = [int(k) for k in np.unique(labels) if int(k) not in skip]
    if not ks:
        return np.ascontiguousarray(image.copy())
    masks = torch.from_numpy(np.stack([labels == k for k in ks]))
    img = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
    out = draw_segmentation_masks(img, masks, alpha=alpha, colors=[colour_of(k, colours) for k in ks])
    return np.ascontiguousarray(out.permute(1, 2, 0).numpy())


def draw_target(image: np.ndarray, labels: np.ndarray, colours: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """Ground truth: every class but the background, and void (255) in the VOC border colour."""
    return overlay(image, labels, colours, skip=(0,))
