"""Images resized as Segment Anything does (longest side to the model's input size, padded bottom and right),
with their object masks at that size for training and at their original size for the click simulation.

``self[i]`` is ``{"index", "image" (3, S, S) normalised, "target" (None when predicting) {"masks": (K, S, S) uint8,
"orig_masks": (K, h, w) bool, "ignore": (h, w) bool | None}, "meta": {"source", "orig_size", "input_size"}}``.
Training flips images and masks horizontally and vertically (model argument ``augment=none`` turns it off).
Masks stay aligned with the annotation's objects, empty ones included (training skips them, evaluation does not
count them). Datasets with annotations keep decoded images and rasterised masks in memory (``cvkit.vision.cache``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cvkit.io.images import read_image
from cvkit.task import AnnotatedDataset, DatasetInfo, ModelConfig, RawSplit
from cvkit.vision.cache import MemoryCache
from cvkit_promptseg.datasets.target import object_masks


def resized_size(h: int, w: int, size: int) -> tuple[int, int]:
    """SAM's ``ResizeLongestSide``: the longest side becomes ``size``, the other is rounded half up."""
    scale = size / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def preprocess(img: torch.Tensor, size: int, mean: tuple[float, ...], std: tuple[float, ...]
               ) -> tuple[torch.Tensor, tuple[int, int]]:
    """uint8 ``(3, h, w)`` -> normalised ``(3, size, size)``, zero-padded after normalisation (as SAM pads)."""
    h, w = int(img.shape[-2]), int(img.shape[-1])
    nh, nw = resized_size(h, w, size)
    x = img.float().unsqueeze(0)
    if (nh, nw) != (h, w):
        x = F.interpolate(x, (nh, nw), mode="bilinear", align_corners=False, antialias=True)
    x = (x[0] / 255.0 - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
    return F.pad(x, (0, size - nw, 0, size - nh)), (nh, nw)


def resize_masks(masks: np.ndarray, input_size: tuple[int, int], size: int) -> torch.Tensor:
    """``(K, h, w)`` bool -> ``(K, size, size)`` uint8: nearest resize to ``input_size``, then zero padding."""
    t = torch.from_numpy(masks.astype(np.uint8)).unsqueeze(1)
    if tuple(t.shape[-2:]) != tuple(input_size) and len(t):
        t = F.interpolate(t.float(), input_size, mode="nearest").to(torch.uint8)
    t = t[:, 0] if len(t) else torch.zeros(0, *input_size, dtype=torch.uint8)
    return F.pad(t, (0, size - input_size[1], 0, size - input_size[0]))


class PromptDataset(AnnotatedDataset):
    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[Any] | None, model: ModelConfig,
                 train: bool, files: list[Path] | None = None) -> None:
        super().__init__(info, sources, targets, files)
        self.size = int(model.img_size)
        self.mean, self.std = tuple(model.mean), tuple(model.std)
        self.flip = train and model.args.get("augment", "default") != "none"
        self.random_transforms = self.flip
        self.cache = MemoryCache(enabled=targets is not None)

    def decoded(self, index: int) -> tuple[torch.Tensor, np.ndarray | None, np.ndarray | None]:
        """Image ``index`` with its object masks and ignore region (kept: shared, never modified in place)."""
        img = read_image(self.sources[index])
        raw = self.target(index)
        if raw is None:
            return img, None, None
        masks, ignore = object_masks({**raw, "size": [int(img.shape[-2]), int(img.shape[-1])]})
        return img, masks, ignore

    def __getitem__(self, index: int) -> dict[str, Any]:
        img, masks, ignore = self.cache.get(index, lambda: self.decoded(index))
        h, w = int(img.shape[-2]), int(img.shape[-1])
        if self.flip:
            for axis, flip in ((-1, torch.rand(()) < 0.5), (-2, torch.rand(()) < 0.5)):
                if flip:
                    img = img.flip(axis)
                    masks = np.flip(masks, axis).copy() if masks is not None else None
                    ignore = np.flip(ignore, axis).copy() if ignore is not None else None
        x, input_size = preprocess(img, self.size, self.mean, self.std)
        meta = {"source": self.sources[index], "orig_size": (h, w), "input_size": input_size}
        target = None
        if masks is not None:
            target = {"masks": resize_masks(masks, input_size, self.size), "orig_masks": masks, "ignore": ignore}
        return {"index": index, "image": x, "target": target, "meta": meta}


def from_raw(raw: RawSplit, model: ModelConfig, train: bool) -> PromptDataset:
    return PromptDataset(raw.info, raw.sources, raw.targets, model, train, raw.files)
