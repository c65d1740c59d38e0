"""The dataset that decodes images and applies the transforms; annotations come parsed in a RawSplit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from cvkit.io.images import read_image
from cvkit.task import AnnotatedDataset, DatasetInfo

CACHE_BYTES = 256 * 2**20  # decoded images kept in memory per dataset (small datasets are decoded once)


class MultiLabelDataset(AnnotatedDataset):
    """Samples are ``(image tensor, target, meta)``; the target is the list of per-class values 1 / -1 / 0
    (None when predicting)."""

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[list[int]] | None,
                 transform: Callable[[torch.Tensor], torch.Tensor], random_transforms: bool,
                 files: list | None = None, cache: bool = True) -> None:
        super().__init__(info, sources, targets, files)
        self.transform, self.random_transforms = transform, random_transforms
        self._cache: dict[int, tuple[torch.Tensor, tuple[int, int]]] = {}
        self._cached_bytes = 0 if cache else CACHE_BYTES

    def __getitem__(self, index: int) -> tuple[torch.Tensor, list[int] | None, dict[str, Any]]:
        item = self._cache.get(index)
        if item is None:
            img = read_image(self.sources[index])
            size = (int(img.shape[-2]), int(img.shape[-1]))
            item = (img if self.random_transforms else self.transform(img), size)
            nbytes = item[0].numel() * item[0].element_size()
            if self._cached_bytes + nbytes <= CACHE_BYTES:
                self._cache[index] = item
                self._cached_bytes += nbytes
        img, size = item
        meta = {"source": self.sources[index], "orig_size": size}
        return (self.transform(img) if self.random_transforms else img), self.target(index), meta
