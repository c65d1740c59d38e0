"""Instance datasets: decode an image and its object masks, transform them together with the boxes, keep the raw
target for evaluation.

Training samples leave out crowd regions and VOC difficult objects (the metrics ignore them). After the transforms,
each box is recomputed from its (nearest-resampled) mask, and objects whose mask or box has become empty or thinner
than one pixel are dropped: Mask R-CNN refuses degenerate boxes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.ops import masks_to_boxes

from cvkit.task import DatasetInfo, ModelConfig, RawSplit
from cvkit.vision.dataset import DATA_ARGS, ImageAnnotationDataset, no_boxes
from cvkit.vision.detections import ignored
from cvkit.vision.transforms import box_eval_transform, box_train_transform
from cvkit_instance.datasets.target import object_masks

__all__ = ["DATA_ARGS", "InstanceDataset", "from_raw", "sanitize"]


def sanitize(boxes: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor) -> dict[str, torch.Tensor]:
    """Boxes from masks (pixel-edge ``x1, y1, x2, y2``); objects with an empty mask or a box under 1 px dropped."""
    keep = (masks.flatten(1) > 0).any(1) if len(masks) else torch.zeros(0, dtype=torch.bool)
    masks, labels = masks[keep], labels[keep]
    boxes = masks_to_boxes(masks).float() + torch.tensor([0.0, 0.0, 1.0, 1.0]) if len(masks) else \
        torch.zeros(0, 4)
    ok = ((boxes[:, 2] - boxes[:, 0]) >= 1) & ((boxes[:, 3] - boxes[:, 1]) >= 1)
    return {"boxes": boxes[ok], "labels": labels[ok].long(), "masks": masks[ok].to(torch.uint8)}


class InstanceDataset(ImageAnnotationDataset):
    """``self[i]["target"]`` is ``{"boxes", "labels", "masks"}`` in input pixels when training, else None.
    Model arguments read here: ``augment`` (``default`` or ``none``) and ``vflip``."""

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[Any] | None, model: ModelConfig,
                 train: bool, files: list | None = None) -> None:
        super().__init__(info, sources, targets, model, train, files, train_transform=box_train_transform,
                         eval_transform=box_eval_transform)

    def annotations(self, index: int, raw: Any, size: tuple[int, int]) -> dict[str, Any]:
        if not self.train or raw is None:  # box transforms expect boxes: none here
            return no_boxes(size)
        h, w = size
        keep = ~ignored(raw)
        masks = object_masks({**raw, "size": (h, w)})[keep]
        bb = tv_tensors.BoundingBoxes(torch.as_tensor(np.asarray(raw["boxes"])[keep], dtype=torch.float32)
                                      .reshape(-1, 4), format="XYXY", canvas_size=(h, w))
        return {"boxes": bb, "labels": torch.as_tensor(np.asarray(raw["labels"])[keep]),
                "masks": tv_tensors.Mask(torch.from_numpy(masks).reshape(-1, h, w))}

    def finish(self, transformed: dict[str, Any], raw: Any, index: int) -> Any:
        if not self.train or raw is None:
            return None
        return sanitize(transformed["boxes"].as_subclass(torch.Tensor), transformed["labels"],
                        transformed["masks"].as_subclass(torch.Tensor))


def from_raw(raw: RawSplit, model: ModelConfig, train: bool) -> InstanceDataset:
    return InstanceDataset(raw.info, raw.sources, raw.targets, model, train, raw.files)
