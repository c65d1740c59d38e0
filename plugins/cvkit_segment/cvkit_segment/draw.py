"""Label maps drawn over RGB uint8 images with torchvision's ``draw_segmentation_masks`` (VOC colours): small images
enlarged first (nearest, so masks stay crisp), a legend of the classes shown beside the picture, and the comparison
of a prediction with its ground truth for validation pictures."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from cvkit.vision.draw import enlarge, legend
from cvkit_segment.palette import VOID, colour_of

MIN_IOU = 0.5  # a validation sample whose mean IoU over the classes it shows is under this is marked wrong


def overlay(image: np.ndarray, labels: np.ndarray | None, colours: Sequence[Sequence[int]] | None = None,
            alpha: float = 0.5, skip: Sequence[int] = (0,)) -> np.ndarray:
    """``image`` with every class of ``labels`` except ``skip`` (background) blended in its palette colour (labels
    of another size are resized to the image's, nearest)."""
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


def entries(labels: np.ndarray | None, names: Sequence[str], colours: Sequence[Sequence[int]] | None = None,
            skip: Sequence[int] = (0,)) -> list[tuple[str, tuple[int, int, int]]]:
    """Legend entries ``(name, colour)`` of the classes present in ``labels`` (void as ``void``)."""
    if labels is None:
        return []
    out = []
    for k in np.unique(np.asarray(labels)):
        k = int(k)
        if k in skip:
            continue
        name = "void" if k == VOID else (names[k] if k < len(names) else str(k))
        out.append((name, colour_of(k, colours)))
    return out


def draw_labels(image: np.ndarray, labels: np.ndarray | None, names: Sequence[str],
                colours: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """A label map over the image, enlarged when small, with a legend of the classes it shows."""
    big, _ = enlarge(image)
    return legend(overlay(big, labels, colours), entries(labels, names, colours))


def mean_iou(pred: np.ndarray, truth: np.ndarray, skip_void: bool = True) -> float:
    """Mean IoU over the classes present in either map (void pixels of the truth left out); 1.0 when both are empty."""
    pred, truth = np.asarray(pred), np.asarray(truth)
    if pred.shape != truth.shape:
        import cv2

        pred = cv2.resize(pred.astype(np.uint8), (truth.shape[1], truth.shape[0]), interpolation=cv2.INTER_NEAREST)
    valid = truth != VOID if skip_void else np.ones(truth.shape, bool)
    p, t = pred[valid], truth[valid]
    ious = []
    for k in np.union1d(np.unique(p), np.unique(t)):
        union = np.count_nonzero((p == k) | (t == k))
        ious.append(np.count_nonzero((p == k) & (t == k)) / union)
    return float(np.mean(ious)) if ious else 1.0


def compare(image: np.ndarray, pred: np.ndarray | None, truth: np.ndarray, names: Sequence[str],
            colours: Sequence[Sequence[int]] | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Ground truth and prediction, each with its legend, and the mean IoU of the prediction over the classes shown
    (pixels predicted wrongly are outlined in red on the prediction)."""
    import cv2

    truth_img = draw_labels(image, truth, names, colours)
    if pred is None:
        return truth_img, draw_labels(image, None, names, colours), 0.0
    big, k = enlarge(image)
    shown = overlay(big, pred, colours)
    p = cv2.resize(np.asarray(pred, np.uint8), (truth.shape[1], truth.shape[0]), interpolation=cv2.INTER_NEAREST)
    wrong = ((p != truth) & (truth != VOID)).astype(np.uint8)
    wrong = cv2.resize(wrong, (big.shape[1], big.shape[0]), interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(wrong, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(shown, contours, -1, (230, 30, 30), max(1, k // 2))
    return truth_img, legend(shown, entries(pred, names, colours)), mean_iou(p, truth)

