"""Datasets that decode images and apply the transforms; annotations come parsed in a RawSplit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from cvkit.io.images import read_image
from cvkit.task import DatasetInfo, RawSplit, TaskDataset

CACHE_BYTES = 256 * 2**20  # decoded images kept in memory per dataset (small datasets are decoded once)


class ImageDataset(TaskDataset):
    """Samples are ``(image tensor, label, meta)``; label is -1 for unlabelled inputs (predict).

    Samples are kept in memory until ``CACHE_BYTES`` are used, so small datasets (the embedded ones, fixtures)
    are decoded once per process rather than once per epoch: the decoded image when the transform is random,
    the finished tensor when it is deterministic (evaluation, ``augment=none``), which also spares the core
    the per-sample seeding (``random_transforms``)."""

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[int] | None,
                 transform: Callable[[torch.Tensor], torch.Tensor], cache: bool = True,
                 random_transforms: bool = True) -> None:
        self.info, self.sources, self.targets, self.transform = info, sources, targets, transform
        self.random_transforms = random_transforms
        self._cache: dict[int, tuple[torch.Tensor, tuple[int, int]]] | None = {} if cache else None
        self._cached_bytes = 0

    @classmethod
    def from_raw(cls, raw: RawSplit, transform: Callable[[torch.Tensor], torch.Tensor],
                 random_transforms: bool) -> ImageDataset:
        return cls(raw.info, raw.sources, raw.targets, transform, random_transforms=random_transforms)

    def __len__(self) -> int:
        return len(self.sources)

    def _load(self, index: int) -> tuple[torch.Tensor, tuple[int, int]]:
        img = read_image(self.sources[index])
        size = (int(img.shape[-2]), int(img.shape[-1]))
        return (img if self.random_transforms else self.transform(img)), size

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, dict[str, Any]]:
        item = self._cache.get(index) if self._cache is not None else None
        if item is None:
            item = self._load(index)
            nbytes = item[0].numel() * item[0].element_size()
            if self._cache is not None and self._cached_bytes + nbytes <= CACHE_BYTES:
                self._cache[index] = item
                self._cached_bytes += nbytes
        img, size = item
        label = self.targets[index] if self.targets is not None else -1
        meta = {"source": self.sources[index], "orig_size": size}
        return (self.transform(img) if self.random_transforms else img), label, meta

    def source(self, index: int) -> str:
        return self.sources[index]

    def target(self, index: int) -> int | None:
        return self.targets[index] if self.targets is not None else None
