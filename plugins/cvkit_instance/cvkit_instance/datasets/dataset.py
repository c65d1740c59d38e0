"""Instance datasets: decode an image and its object masks, transform them together with the boxes, keep the raw
target for evaluation.

Training samples leave out crowd regions and VOC difficult objects (the metrics ignore them). After the transforms,
each box is recomputed from its (nearest-resampled) mask, and objects whose mask or box has become empty or thinner
than one pixel are dropped: Mask R-CNN refuses degenerate boxes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.ops import masks_to_boxes

from cvkit.io.images import read_image
from cvkit.task import AnnotatedDataset, DatasetInfo, ModelConfig, RawSplit
from cvkit_detect.datasets.target import ignored
from cvkit_detect.transforms import eval_transform, train_transform
from cvkit_instance.datasets.target import object_masks

DATA_ARGS = ("augment", "vflip")


def sanitize(boxes: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor) -> dict[str, torch.Tensor]:
    """Boxes from masks (pixel-edge ``x1, y1, x2, y2``); objects with an empty mask or a box under 1 px dropped."""
    keep = (masks.flatten(1) > 0).any(1) if len(masks) else torch.zeros(0, dtype=torch.bool)
    masks, labels = masks[keep], labels[keep]
    boxes = masks_to_boxes(masks).float() + torch.tensor([0.0, 0.0, 1.0, 1.0]) if len(masks) else \
        torch.zeros(0, 4)
    ok = ((boxes[:, 2] - boxes[:, 0]) >= 1) & ((boxes[:, 3] - boxes[:, 1]) >= 1)
    return {"boxes": boxes[ok], "labels": labels[ok].long(), "masks": masks[ok].to(torch.uint8)}


class InstanceDataset(AnnotatedDataset):
    """``self[i]`` is ``{"index", "image", "target" ({"boxes", "labels", "masks"} in input pixels, or None),
    "meta"}``. Model arguments read here: ``augment`` (``default`` or ``none``) and ``vflip``."""

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[Any] | None, model: ModelConfig,
                 train: bool, files: list[Path] | None = None) -> None:
        super().__init__(info, sources, targets, files)
        self.train = train
        self.size = int(model.img_size)
        if train and model.args.get("augment", "default") != "none":
            self.transform = train_transform(self.size, model.mean, model.std, bool(model.args.get("vflip", False)))
        else:
            self.transform = eval_transform(self.size, model.mean, model.std)

    def __getitem__(self, index: int) -> dict[str, Any]:
        img = read_image(self.sources[index])
        h, w = int(img.shape[-2]), int(img.shape[-1])
        raw = self.target(index)
        meta = {"source": self.sources[index], "orig_size": (h, w), "input_size": (self.size, self.size)}
        if not self.train or raw is None:  # detection's transforms expect boxes: none here
            none = {"boxes": tv_tensors.BoundingBoxes(torch.zeros(0, 4), format="XYXY", canvas_size=(h, w)),
                    "labels": torch.zeros(0, dtype=torch.int64)}
            image, _ = self.transform(tv_tensors.Image(img), none)
            return {"index": index, "image": image.as_subclass(torch.Tensor), "target": None, "meta": meta}
        keep = ~ignored(raw)
        masks = object_masks({**raw, "size": (h, w)})[keep]
        bb = tv_tensors.BoundingBoxes(torch.as_tensor(np.asarray(raw["boxes"])[keep], dtype=torch.float32)
                                      .reshape(-1, 4), format="XYXY", canvas_size=(h, w))
        image, tgt = self.transform(tv_tensors.Image(img), {
            "boxes": bb, "labels": torch.as_tensor(np.asarray(raw["labels"])[keep]),
            "masks": tv_tensors.Mask(torch.from_numpy(masks).reshape(-1, h, w))})
        target = sanitize(tgt["boxes"].as_subclass(torch.Tensor), tgt["labels"], tgt["masks"].as_subclass(torch.Tensor))
        return {"index": index, "image": image.as_subclass(torch.Tensor), "target": target, "meta": meta}


def from_raw(raw: RawSplit, model: ModelConfig, train: bool) -> InstanceDataset:
    return InstanceDataset(raw.info, raw.sources, raw.targets, model, train, raw.files)
