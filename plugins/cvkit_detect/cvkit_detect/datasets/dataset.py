"""Detection datasets: decode an image, transform it with its boxes, and keep the raw target for evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision import tv_tensors

from cvkit.io.images import read_image
from cvkit.task import AnnotatedDataset, DatasetInfo, ModelConfig, RawSplit
from cvkit_detect.datasets.target import ignored
from cvkit_detect.transforms import eval_transform, train_transform

DATA_ARGS = ("augment", "vflip", "train_difficult")


class DetectionDataset(AnnotatedDataset):
    """``self[i]`` is ``{"index", "image", "target" ({"boxes", "labels"} in input pixels, or None), "meta"}``.

    Model arguments read here (and not passed to the model): ``augment`` (``default`` or ``none``), ``vflip``
    (also flip vertically when training) and ``train_difficult`` (train on VOC difficult / COCO crowd boxes too)."""

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[Any] | None, model: ModelConfig,
                 train: bool, files: list[Path] | None = None) -> None:
        super().__init__(info, sources, targets, files)
        self.train = train
        self.size = int(model.img_size)
        self.keep_difficult = bool(model.args.get("train_difficult", False))
        if train and model.args.get("augment", "default") != "none":
            self.transform = train_transform(self.size, model.mean, model.std, bool(model.args.get("vflip", False)))
        else:
            self.transform = eval_transform(self.size, model.mean, model.std)

    def __getitem__(self, index: int) -> dict[str, Any]:
        img = read_image(self.sources[index])
        h, w = int(img.shape[-2]), int(img.shape[-1])
        raw = self.target(index)
        if raw is None:
            boxes = np.zeros((0, 4))
            labels = np.zeros(0, np.int64)
        else:
            keep = np.ones(len(raw["labels"]), bool) if self.keep_difficult and self.train else ~ignored(raw)
            boxes, labels = np.asarray(raw["boxes"])[keep], np.asarray(raw["labels"])[keep]
        bb = tv_tensors.BoundingBoxes(torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4), format="XYXY",
                                      canvas_size=(h, w))
        image, tgt = self.transform(tv_tensors.Image(img), {"boxes": bb, "labels": torch.as_tensor(labels)})
        target = None if raw is None else {"boxes": tgt["boxes"].as_subclass(torch.Tensor), "labels": tgt["labels"]}
        meta = {"source": self.sources[index], "orig_size": (h, w), "input_size": (self.size, self.size)}
        return {"index": index, "image": image.as_subclass(torch.Tensor), "target": target, "meta": meta}


def from_raw(raw: RawSplit, model: ModelConfig, train: bool) -> DetectionDataset:
    return DetectionDataset(raw.info, raw.sources, raw.targets, model, train, raw.files)
