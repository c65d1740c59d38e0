"""Datasets that decode images and prepare what the models see; annotations come parsed in a RawSplit.

- :class:`PersonCrops` (heatmap models, training): one sample per annotated person, an augmented crop with its
  Gaussian heatmap targets and weights.
- :class:`ImageCrops` (heatmap models, evaluation and predict): one sample per IMAGE holding the crops of all its
  scorable people (from the annotation's centre and scale or box), or, without annotations, one crop showing the
  whole image. Evaluation is per image so that ``cvkit eval --predictions`` (records per image) and ``cvkit eval
  --weights`` score the same units.
- :class:`WholeImages` (Keypoint R-CNN): one sample per image, resized to ``S x S``, with boxes and keypoints.

Samples are dicts; ``meta`` carries what ``predict_step`` needs to map outputs back to the original image.
Datasets with annotations keep what does not depend on random draws in memory (``cvkit.vision.cache``): decoded
images for person crops, resized images for Keypoint R-CNN, finished samples for evaluation crops.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from cvkit.io.images import read_image
from cvkit.task import AnnotatedDataset, DatasetInfo, ModelConfig, RawSplit
from cvkit.vision.cache import MemoryCache
from cvkit_pose import heatmaps, transforms
from cvkit_pose.skeleton import flip_index
from cvkit_pose.target import scorable, select

STRIDE = 4  # heatmap stride when --model-arg stride is not given
SIGMA = 2.0  # Gaussian sigma in heatmap cells when --model-arg sigma is not given


def decode_options(model: ModelConfig, info: DatasetInfo) -> dict[str, Any]:
    """What predict_step needs to decode heatmaps (shared by every sample of a dataset)."""
    return {**heatmaps.options(model.args), "stride": int(model.args.get("stride", STRIDE)),
            "sigma": float(model.args.get("sigma", SIGMA)), "flip_index": flip_index(info.classes, _pairs(info))}


def _pairs(info: DatasetInfo) -> list[list[int]] | None:
    pairs = info.extra.get("flip_pairs")
    return [list(p) for p in pairs] if pairs is not None else None


def _read(source: str) -> np.ndarray:
    return read_image(source).permute(1, 2, 0).numpy()


class PoseDataset(AnnotatedDataset):
    """Shared plumbing (the core's sources / raw targets bookkeeping) plus the model configuration and the
    memory cache (off when predicting: no targets)."""

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[Any] | None, model: ModelConfig,
                 files: list[Path] | None = None) -> None:
        super().__init__(info, sources, targets, files)
        self.model = model
        self.cache = MemoryCache(enabled=targets is not None)

    def image(self, index: int) -> np.ndarray:
        """Image ``index`` decoded (HxWx3 uint8, shared: never modified in place)."""
        return self.cache.get(index, lambda: _read(self.sources[index]))


class PersonCrops(PoseDataset):
    """Training samples of a heatmap model: ``{"image", "heatmaps", "weights", "meta"}``, one per person.

    ``--model-arg`` read here: ``stride``, ``sigma``, ``augment`` (true), ``scale_jitter`` (0.25), ``rotate`` (30),
    ``flip`` (true)."""

    def __init__(self, raw: RawSplit, model: ModelConfig) -> None:
        super().__init__(raw.info, raw.sources, raw.targets, model, raw.files)
        self.people = [(i, j) for i, t in enumerate(raw.targets) for j in np.flatnonzero(scorable(t))]
        a = model.args
        self.augment = transforms.Augment(float(a.get("scale_jitter", 0.25)), float(a.get("rotate", 30.0)),
                                          flip=bool(a.get("flip", True))) if a.get("augment", True) else None
        self.stride = int(a.get("stride", STRIDE))
        self.sigma = float(a.get("sigma", SIGMA))
        self.flip_index = flip_index(raw.info.classes, _pairs(raw.info))

    def __len__(self) -> int:
        return len(self.people)

    def decode_ahead(self, index: int) -> bool:
        """The training loop's decode-ahead thread: the image of person ``index`` decoded into the cache."""
        i = self.people[index][0]
        return self.cache.keep(i, lambda: _read(self.sources[i]))

    def source(self, index: int) -> str:
        return self.sources[self.people[index][0]]

    def target(self, index: int) -> Any:
        i, j = self.people[index]
        return select(self.targets[i], [j])

    def __getitem__(self, index: int) -> dict[str, Any]:
        i, j = self.people[index]
        t = self.targets[i]
        image = self.image(i)
        size = self.model.img_size
        crop = np.array(t["crops"][j], np.float64)
        rotate, flip = 0.0, False
        if self.augment is not None:
            rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ()).item()))
            s, rotate, flip = self.augment.draw(rng)
            crop[2] *= s
        m = transforms.crop_matrix(crop, size, rotate)
        img = transforms.warp(image, m, size)
        joints = transforms.apply(m, t["keypoints"][j])
        weights = (np.asarray(t["visible"][j]) > 0).astype(np.float32)
        if flip:
            img = img[:, ::-1]
            joints = joints[self.flip_index]
            joints[:, 0] = size - 1 - joints[:, 0]
            weights = weights[self.flip_index]
        hm_size = transforms.heatmap_size(size, self.stride)
        maps, weights = transforms.gaussian_targets(transforms.input_to_heatmap(joints, self.stride), weights,
                                                    hm_size, self.sigma)
        meta = {"source": self.sources[i], "orig_size": tuple(image.shape[:2])}
        return {"image": transforms.to_tensor(img, self.model.mean, self.model.std),
                "heatmaps": torch.from_numpy(maps), "weights": torch.from_numpy(weights), "meta": meta}


class ImageCrops(PoseDataset):
    """Evaluation/predict samples of a heatmap model: ``{"crops" (n, 3, S, S), "meta"}`` per image, where ``meta``
    has ``crops`` (``[cx, cy, side]`` per crop), ``match`` (the annotated person of each crop, or None) and the
    shared ``decode`` options. Nothing is random: finished samples are kept."""

    random_transforms = False

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[Any] | None, model: ModelConfig,
                 files: list[Path] | None = None) -> None:
        super().__init__(info, sources, targets, model, files)
        self.decode = decode_options(model, info)

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.cache.get(index, lambda: self._sample(index))
        return {**sample, "meta": dict(sample["meta"])}

    def _sample(self, index: int) -> dict[str, Any]:
        image = _read(self.sources[index])
        h, w = image.shape[:2]
        t = self.target(index)
        if t is None:
            crops, match = [transforms.whole_image_crop(h, w)], None
        else:
            people = np.flatnonzero(scorable(t))
            crops, match = [t["crops"][j] for j in people], [int(j) for j in people]
        size = self.model.img_size
        tensors = [transforms.to_tensor(transforms.warp(image, transforms.crop_matrix(c, size), size),
                                        self.model.mean, self.model.std) for c in crops]
        stacked = torch.stack(tensors) if tensors else torch.zeros(0, 3, size, size)
        meta = {"source": self.sources[index], "orig_size": (h, w), "crops": [list(map(float, c)) for c in crops],
                "match": match, "decode": self.decode, "input_size": (size, size)}
        return {"crops": stacked, "meta": meta}


class WholeImages(PoseDataset):
    """Keypoint R-CNN samples: ``{"image" (3, S, S), "target" (boxes, labels, keypoints in input pixels) or None,
    "meta"}``. Images are resized to ``S x S`` (pixel edges onto pixel edges); crowd people and people without a
    labelled keypoint are left out of the training targets. ``--model-arg flip`` (true) mirrors training images
    half the time."""

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[Any] | None, model: ModelConfig,
                 train: bool, files: list[Path] | None = None) -> None:
        super().__init__(info, sources, targets, model, files)
        self.train = train
        self.flip = train and bool(model.args.get("flip", True)) and bool(model.args.get("augment", True))
        self.flip_index = flip_index(info.classes, _pairs(info))

    def resized(self, index: int) -> tuple[np.ndarray, tuple[int, int]]:
        """Image ``index`` resized to ``S x S`` (kept: shared, never modified in place) and its original size."""
        image = _read(self.sources[index])
        h, w = image.shape[:2]
        size = self.model.img_size
        m = _resize_matrix(size, h, w)
        return (transforms.warp(image, m, size) if (h, w) != (size, size) else image), (h, w)

    def __getitem__(self, index: int) -> dict[str, Any]:
        img, (h, w) = self.cache.get(index, lambda: self.resized(index))
        size = self.model.img_size
        sx, sy = size / w, size / h
        m = _resize_matrix(size, h, w)
        t = self.target(index)
        target = None
        if t is not None and self.train:
            keep = scorable(t)
            kp = transforms.apply(m, t["keypoints"][keep])
            vis = (np.asarray(t["visible"])[keep] > 0).astype(np.float64)
            boxes = np.asarray(t["boxes"], np.float64)[keep] * [sx, sy, sx, sy]
            if self.flip and torch.rand(()) < 0.5:
                img = img[:, ::-1]
                kp = kp[:, self.flip_index]
                vis = vis[:, self.flip_index]
                kp[..., 0] = size - 1 - kp[..., 0]
                boxes = np.stack([size - boxes[:, 2], boxes[:, 1], size - boxes[:, 0], boxes[:, 3]], 1)
            boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)  # torchvision refuses empty boxes
            target = {"boxes": torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                      "labels": torch.ones(len(boxes), dtype=torch.int64),
                      "keypoints": torch.as_tensor(np.concatenate([kp, vis[..., None]], -1),
                                                   dtype=torch.float32).reshape(len(boxes), len(self.info.classes), 3)}
        meta = {"source": self.sources[index], "orig_size": (h, w), "input_size": (size, size)}
        return {"image": transforms.to_tensor(img, self.model.mean, self.model.std), "target": target, "meta": meta}


def _resize_matrix(size: int, h: int, w: int) -> np.ndarray:
    """The affine map of an ``h x w`` image onto ``size x size`` (pixel edges onto pixel edges)."""
    sx, sy = size / w, size / h
    return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5]])
