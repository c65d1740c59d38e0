"""Datasets that decode images and apply the transforms; annotations come parsed in a RawSplit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from cvkit.io.images import read_image
from cvkit.task import DatasetInfo, RawSplit, TaskDataset
from cvkit.vision.cache import MemoryCache


class ImageDataset(TaskDataset):
    """Samples are ``(image tensor, label, meta)``; label is -1 for unlabelled inputs (predict).

    Samples are kept in memory while the process's image-cache budget lasts (``cvkit.vision.cache``), so small
    datasets (the embedded ones, fixtures) are decoded once per process rather than once per epoch: the decoded
    image when the transform is random,
    the finished tensor when it is deterministic (evaluation, ``augment=none``), which also spares the core
    the per-sample seeding (``random_transforms``)."""

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[int] | None,
                 transform: Callable[[torch.Tensor], torch.Tensor], cache: bool = True,
                 random_transforms: bool = True) -> None:
        self.info, self.sources, self.targets, self.transform = info, sources, targets, transform
        self.random_transforms = random_transforms
        self.cache = MemoryCache(enabled=cache)

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

    def decode_ahead(self, index: int) -> bool:
        """The training loop's decode-ahead thread: what :meth:`__getitem__` keeps of image ``index``, loaded into
        the cache."""
        return self.cache.keep(index, lambda: self._load(index))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, dict[str, Any]]:
        img, size = self.cache.get(index, lambda: self._load(index))
        label = self.targets[index] if self.targets is not None else -1
        meta = {"source": self.sources[index], "orig_size": size}
        return (self.transform(img) if self.random_transforms else img), label, meta

    def source(self, index: int) -> str:
        return self.sources[index]

    def target(self, index: int) -> int | None:
        return self.targets[index] if self.targets is not None else None
