"""The dataset that decodes images and applies the transforms; annotations come parsed in a RawSplit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from cvkit.io.images import read_image
from cvkit.task import AnnotatedDataset, DatasetInfo
from cvkit.vision.cache import MemoryCache


class MultiLabelDataset(AnnotatedDataset):
    """Samples are ``(image tensor, target, meta)``; the target is the list of per-class values 1 / -1 / 0
    (None when predicting). Decoded images (finished tensors when the transform is deterministic) are kept in
    memory while the process's image-cache budget lasts (``cvkit.vision.cache``)."""

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[list[int]] | None,
                 transform: Callable[[torch.Tensor], torch.Tensor], random_transforms: bool,
                 files: list | None = None, cache: bool = True) -> None:
        super().__init__(info, sources, targets, files)
        self.transform, self.random_transforms = transform, random_transforms
        self.cache = MemoryCache(enabled=cache)

    def _load(self, index: int) -> tuple[torch.Tensor, tuple[int, int]]:
        img = read_image(self.sources[index])
        size = (int(img.shape[-2]), int(img.shape[-1]))
        return (img if self.random_transforms else self.transform(img)), size

    def __getitem__(self, index: int) -> tuple[torch.Tensor, list[int] | None, dict[str, Any]]:
        img, size = self.cache.get(index, lambda: self._load(index))
        meta = {"source": self.sources[index], "orig_size": size}
        return (self.transform(img) if self.random_transforms else img), self.target(index), meta
