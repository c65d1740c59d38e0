"""Segmentation datasets: decode an image (and, when training, its label map), transform them together, and keep
the raw target for evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torchvision import tv_tensors

from cvkit.errors import BadInput
from cvkit.io.images import read_image
from cvkit.task import AnnotatedDataset, DatasetInfo, ModelConfig, RawSplit
from cvkit_segment.datasets.target import label_file, load_label
from cvkit_segment.transforms import eval_transform, train_transform

DATA_ARGS = ("augment", "vflip")


class SegmentationDataset(AnnotatedDataset):
    """``self[i]`` is ``{"index", "image", "target", "meta"}``: ``target`` is the ``(S, S)`` int64 label map
    (255 void) of a training sample and None otherwise (evaluation reads ``target(i)``, the raw annotation).

    Model arguments read here (and not passed to the model): ``augment`` (``default`` or ``none``) and ``vflip``
    (also flip vertically when training)."""

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
        if not self.train or raw is None:
            image = self.transform(tv_tensors.Image(img))
            return {"index": index, "image": image.as_subclass(torch.Tensor), "target": None, "meta": meta}
        labels = load_label(raw, len(self.info.classes), self.info.extra.get("colours"))
        if labels.shape != (h, w):
            raise BadInput(label_file(raw), f"label map is {labels.shape[1]}x{labels.shape[0]} but the image "
                           f"{self.sources[index]} is {w}x{h}")
        image, mask = self.transform(tv_tensors.Image(img), tv_tensors.Mask(torch.from_numpy(labels)))
        return {"index": index, "image": image.as_subclass(torch.Tensor),
                "target": mask.as_subclass(torch.Tensor).long(), "meta": meta}


def from_raw(raw: RawSplit, model: ModelConfig, train: bool) -> SegmentationDataset:
    return SegmentationDataset(raw.info, raw.sources, raw.targets, model, train, raw.files)
