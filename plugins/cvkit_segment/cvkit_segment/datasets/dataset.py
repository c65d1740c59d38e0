"""Segmentation datasets: the core's image-annotation dataset (``cvkit.vision.dataset``) with the label map as a
``tv_tensors.Mask`` when training; evaluation keeps the raw target."""

from __future__ import annotations

from typing import Any

import torch
from torchvision import tv_tensors

from cvkit.errors import BadInput
from cvkit.task import DatasetInfo, ModelConfig, RawSplit
from cvkit.vision.dataset import DATA_ARGS, ImageAnnotationDataset
from cvkit_segment.datasets.target import label_file, load_label
from cvkit_segment.palette import VOID
from cvkit_segment.transforms import eval_transform, train_transform

__all__ = ["DATA_ARGS", "SegmentationDataset", "from_raw"]


class SegmentationDataset(ImageAnnotationDataset):
    """``self[i]["target"]`` is the ``(S, S)`` int64 label map (255 void) of a training sample and None otherwise
    (evaluation reads ``target(i)``, the raw annotation).

    Training augments whole batches in the step (:mod:`cvkit.vision.batch_augment`, void where the affine uncovers
    pixels); ``augment=sample`` runs the same augmentations per sample in the data pipeline instead.

    Model arguments read here (and not passed to the model): ``augment`` (``default``, ``sample`` or ``none``) and
    ``vflip`` (also flip vertically when training)."""

    label_fill = VOID

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[Any] | None, model: ModelConfig,
                 train: bool, files: list | None = None) -> None:
        super().__init__(info, sources, targets, model, train, files, train_transform=train_transform,
                         eval_transform=eval_transform, augment_in_step=True)

    def annotations(self, index: int, raw: Any, size: tuple[int, int]) -> dict[str, Any] | None:
        if not self.train or raw is None:
            return None
        labels = load_label(raw, len(self.info.classes), self.info.extra.get("colours"))
        if labels.shape != size:
            raise BadInput(label_file(raw), f"label map is {labels.shape[1]}x{labels.shape[0]} but the image "
                           f"{self.sources[index]} is {size[1]}x{size[0]}")
        return {"mask": tv_tensors.Mask(torch.from_numpy(labels))}

    def finish(self, transformed: dict[str, Any], raw: Any, index: int) -> Any:
        return transformed["mask"].as_subclass(torch.Tensor).long()


def from_raw(raw: RawSplit, model: ModelConfig, train: bool) -> SegmentationDataset:
    return SegmentationDataset(raw.info, raw.sources, raw.targets, model, train, raw.files)
