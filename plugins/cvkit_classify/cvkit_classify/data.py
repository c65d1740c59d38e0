"""Datasets that decode images and apply the transforms; annotations come parsed in a RawSplit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from cvkit.io.images import read_image
from cvkit.task import DatasetInfo, RawSplit, TaskDataset


class ImageDataset(TaskDataset):
    """Samples are ``(image tensor, label, meta)``; label is -1 for unlabelled inputs (predict)."""

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[int] | None,
                 transform: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.info, self.sources, self.targets, self.transform = info, sources, targets, transform

    @classmethod
    def from_raw(cls, raw: RawSplit, transform: Callable[[torch.Tensor], torch.Tensor]) -> ImageDataset:
        return cls(raw.info, raw.sources, raw.targets, transform)

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, dict[str, Any]]:
        img = read_image(self.sources[index])
        label = self.targets[index] if self.targets is not None else -1
        meta = {"source": self.sources[index], "orig_size": tuple(img.shape[-2:])}
        return self.transform(img), label, meta

    def source(self, index: int) -> str:
        return self.sources[index]

    def target(self, index: int) -> int | None:
        return self.targets[index] if self.targets is not None else None
