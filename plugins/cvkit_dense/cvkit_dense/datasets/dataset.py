"""The dense dataset: decode an image (and, when training, its depth and normal maps), resize them to the network's
input size, augment, and keep the raw target for evaluation.

Input size: ``img_size`` is the width; the height is ``--model-arg input_height`` or the dataset's aspect ratio
(``info.extra["image_size"]``) rounded to a multiple of 16 (96 x 128 for the rooms, 480 x 640 NYU frames at width
640). Images are resized bilinearly (area when shrinking), depth and normal maps by nearest neighbour so that
pixels without ground truth never mix with valid ones. Training flips horizontally (the normals' x component
changes sign) and jitters brightness and contrast (``--model-arg augment=none`` turns both off). Resizing comes
before any random step, so datasets with annotations keep the resized image and maps in memory
(``cvkit.vision.cache``) and decode each file once per process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from cvkit.io.images import read_image
from cvkit.task import AnnotatedDataset, DatasetInfo, ModelConfig, RawSplit
from cvkit.vision.cache import MemoryCache
from cvkit_dense.datasets.depthio import load_target


def input_hw(model: ModelConfig, info: DatasetInfo) -> tuple[int, int]:
    width = int(model.img_size)
    if model.args.get("input_height"):
        return int(model.args["input_height"]), width
    size = info.extra.get("image_size")
    if not size:
        return width, width
    return max(16, int(round(width * size[0] / size[1] / 16)) * 16), width


def read_rgb(source: str) -> np.ndarray:
    """RGB uint8 HxWx3 of an image file or of an NYU ``<mat>#<n>`` frame."""
    from cvkit_dense.datasets.nyu import parse_source, read_frame

    nyu = parse_source(source)
    if nyu is not None and nyu[0].is_file():
        return read_frame(*nyu)[0]
    return read_image(source).permute(1, 2, 0).numpy()


def _resize(x: np.ndarray, hw: tuple[int, int], nearest: bool) -> np.ndarray:
    import cv2

    if x.shape[:2] == hw:
        return x
    if nearest:
        interp = cv2.INTER_NEAREST
    else:
        interp = cv2.INTER_AREA if x.shape[0] > hw[0] else cv2.INTER_LINEAR
    return cv2.resize(x, (hw[1], hw[0]), interpolation=interp)


class DenseDataset(AnnotatedDataset):
    """``self[i]`` is ``{"index", "image", "target", "meta"}``; ``target`` (training only) is ``{"depth": (1, H, W),
    "normals": (3, H, W) or None}`` at the input size."""

    random_transforms = True

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[Any] | None, model: ModelConfig,
                 train: bool, files: list[Path] | None = None) -> None:
        super().__init__(info, sources, targets, files)
        self.train = train
        self.hw = input_hw(model, info)
        self.augment = train and model.args.get("augment", "default") != "none"
        self.random_transforms = self.augment
        self.mean = torch.tensor(model.mean, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(model.std, dtype=torch.float32).view(3, 1, 1)
        self.cache = MemoryCache(enabled=targets is not None)

    def resized(self, index: int) -> tuple[np.ndarray, tuple[int, int], np.ndarray | None, np.ndarray | None]:
        """Image ``index`` (uint8) and, when training, its depth and normal maps at the input size, with the
        image's original ``(h, w)``. Kept in memory: shared, never modified in place."""
        rgb = read_rgb(self.sources[index])
        raw = self.target(index)
        depth = normals = None
        if self.train and raw is not None:
            depth, normals = load_target(raw)
            depth = _resize(depth, self.hw, nearest=True)
            normals = _resize(normals, self.hw, nearest=True) if normals is not None else None
        return _resize(rgb, self.hw, nearest=False), rgb.shape[:2], depth, normals

    def __getitem__(self, index: int) -> dict[str, Any]:
        source = self.sources[index]
        small, (h, w), depth, normals = self.cache.get(index, lambda: self.resized(index))
        meta = {"source": source, "orig_size": (h, w), "input_size": self.hw}
        target = None
        image = small.astype(np.float32) / 255
        if depth is not None:
            if self.augment:
                if torch.rand(()) < 0.5:
                    image, depth = image[:, ::-1], depth[:, ::-1]
                    if normals is not None:
                        normals = normals[:, ::-1] * np.array([-1, 1, 1], np.float32)
                gain, bias = float(torch.empty(()).uniform_(0.75, 1.25)), float(torch.empty(()).uniform_(-0.1, 0.1))
                image = np.clip(image * gain + bias, 0, 1)
            target = {"depth": torch.from_numpy(depth.copy())[None],  # a copy: depth may be the kept array
                      "normals": None if normals is None else
                      torch.from_numpy(np.ascontiguousarray(normals.transpose(2, 0, 1)))}
        tensor = (torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))) - self.mean) / self.std
        return {"index": index, "image": tensor, "target": target, "meta": meta}


def from_raw(raw: RawSplit, model: ModelConfig, train: bool) -> DenseDataset:
    return DenseDataset(raw.info, raw.sources, raw.targets, model, train, raw.files)
