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

    Decoded images are kept in memory until ``CACHE_BYTES`` are used, so small datasets (the embedded ones,
    fixtures) are decoded once per process rather than once per epoch."""

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[int] | None,
                 transform: Callable[[torch.Tensor], torch.Tensor], cache: bool = True) -> None:
        self.info, self.sources, self.targets, self.transform = info, sources, targets, transform
        self._cache: dict[int, torch.Tensor] | None = {} if cache else None
        self._cached_bytes = 0

    @classmethod
    def from_raw(cls, raw: RawSplit, transform: Callable[[torch.Tensor], torch.Tensor]) -> ImageDataset:
        return cls(raw.info, raw.sources, raw.targets, transform)

    def __len__(self) -> int:
        return len(self.sources)

    def _image(self, index: int) -> torch.Tensor:
        if self._cache is None:
            return read_image(self.sources[index])
        img = self._cache.get(index)
        if img is None:
            img = read_image(self.sources[index])
            if self._cached_bytes + img.numel() <= CACHE_BYTES:
                self._cache[index] = img
                self._cached_bytes += img.numel()
        return img

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, dict[str, Any]]:
        img = self._image(index)
        label = self.targets[index] if self.targets is not None else -1
        meta = {"source": self.sources[index], "orig_size": tuple(img.shape[-2:])}
        return self.transform(img), label, meta

    def source(self, index: int) -> str:
        return self.sources[index]

    def target(self, index: int) -> int | None:
        return self.targets[index] if self.targets is not None else None
