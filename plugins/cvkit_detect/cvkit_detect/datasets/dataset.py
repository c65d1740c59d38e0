"""Detection datasets: the core's image-annotation dataset with boxes (``cvkit.vision.dataset``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torchvision import tv_tensors

from cvkit.task import DatasetInfo, ModelConfig, RawSplit
from cvkit.vision.dataset import ImageAnnotationDataset
from cvkit.vision.detections import ignored
from cvkit.vision.transforms import box_eval_transform, box_train_transform

DATA_ARGS = ("augment", "vflip", "train_difficult")


class DetectionDataset(ImageAnnotationDataset):
    """``self[i]["target"]`` is ``{"boxes", "labels"}`` in input pixels, or None when predicting.

    Training augments whole batches in the step (:mod:`cvkit.vision.batch_augment`); ``augment=sample`` runs the
    same augmentations per sample in the data pipeline instead (torchvision ``transforms.v2``).

    Model arguments read here (and not passed to the model): ``augment`` (``default``, ``sample`` or ``none``),
    ``vflip`` (also flip vertically when training) and ``train_difficult`` (train on VOC difficult / COCO crowd
    boxes too)."""

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[Any] | None, model: ModelConfig,
                 train: bool, files: list | None = None) -> None:
        super().__init__(info, sources, targets, model, train, files, train_transform=box_train_transform,
                         eval_transform=box_eval_transform, augment_in_step=True)
        self.keep_difficult = bool(model.args.get("train_difficult", False))

    def annotations(self, index: int, raw: Any, size: tuple[int, int]) -> dict[str, Any]:
        if raw is None:
            boxes, labels = np.zeros((0, 4)), np.zeros(0, np.int64)
        else:
            keep = np.ones(len(raw["labels"]), bool) if self.keep_difficult and self.train else ~ignored(raw)
            boxes, labels = np.asarray(raw["boxes"])[keep], np.asarray(raw["labels"])[keep]
        bb = tv_tensors.BoundingBoxes(torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4), format="XYXY",
                                      canvas_size=size)
        return {"boxes": bb, "labels": torch.as_tensor(labels)}

    def finish(self, transformed: dict[str, Any], raw: Any, index: int) -> Any:
        if raw is None:
            return None
        return {"boxes": transformed["boxes"].as_subclass(torch.Tensor), "labels": transformed["labels"]}


def from_raw(raw: RawSplit, model: ModelConfig, train: bool) -> DetectionDataset:
    return DetectionDataset(raw.info, raw.sources, raw.targets, model, train, raw.files)
