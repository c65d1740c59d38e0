"""Images at the model's size, as float tensors in [0, 1]; each method augments on the batch itself.

For evaluation the dataset holds two parts: the labelled ``fit`` images the probes are trained on (the train
split) and the ``score`` images they are scored on (the split evaluated). Both pass through the frozen encoder
in the same evaluation loop, so the core's eval and the per-epoch validation need nothing task-specific.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cvkit.errors import UsageError
from cvkit.io.images import read_image
from cvkit.task import AnnotatedDataset, DatasetInfo, RawSplit
from cvkit.vision.cache import MemoryCache

HOLD_OUT = 0.2  # share of a split held out for scoring when the fit and score splits are the same images


def resize(img: torch.Tensor, size: int) -> torch.Tensor:
    """A uint8 (3, H, W) image resized to (3, size, size) (antialiased), still uint8."""
    if img.shape[-2:] == (size, size):
        return img
    out = F.interpolate(img[None].float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return out[0].round().clamp(0, 255).to(torch.uint8)


class PretrainDataset(AnnotatedDataset):
    """Samples are ``(image (3, S, S) float in [0, 1], target, meta)``; ``target`` is ``{"label", "part"}``
    (label -1: unlabelled; part ``train`` when training, ``fit`` or ``score`` when evaluating, ``predict``)."""

    random_transforms = False  # the dataset itself is deterministic; methods draw their augmentation per batch

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[dict[str, Any]] | None,
                 img_size: int, files: list | None = None) -> None:
        super().__init__(info, sources, targets, files)
        self.img_size = img_size
        # resized uint8 images by path (repeats share), within the process's budget (cvkit.vision.cache)
        self.cache = MemoryCache(enabled=targets is not None)

    def _load(self, index: int) -> tuple[torch.Tensor, tuple[int, int]]:
        return self.cache.get(self.sources[index], lambda: self._read(self.sources[index]))

    def _read(self, path: str) -> tuple[torch.Tensor, tuple[int, int]]:
        img = read_image(path)
        return resize(img, self.img_size), (int(img.shape[-2]), int(img.shape[-1]))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, Any], dict[str, Any]]:
        img, size = self._load(index)
        target = self.target(index) or {"label": -1, "part": "predict"}
        return img.float() / 255.0, target, {"source": self.sources[index], "orig_size": size,
                                             "part": target["part"]}


def training_set(raw: RawSplit, img_size: int, repeat: int = 1) -> PretrainDataset:
    """The training images, each ``repeat`` times per epoch (``--model-arg repeat=N``: on a small dataset, fewer
    and longer epochs, so that less time goes into the evaluation after each)."""
    if repeat < 1:
        raise UsageError(f"--model-arg repeat={repeat}: expected a positive whole number")
    targets = [{"label": int(t), "part": "train"} for t in raw.targets] * repeat
    return PretrainDataset(raw.info, list(raw.sources) * repeat, targets, img_size, raw.files)


def evaluation_set(fit: RawSplit | None, score: RawSplit, img_size: int) -> PretrainDataset:
    """The ``fit`` split's labelled images followed by the ``score`` split's images. When both are the same
    images (a folder without split folders, or ``--split train``), a fixed 20 % of them is held out for scoring."""
    score_sources, score_labels = list(score.sources), [int(t) for t in score.targets]
    if fit is None or list(fit.sources) == score_sources:
        held = np.random.default_rng(0).permutation(len(score_sources))
        cut = max(1, round(len(held) * HOLD_OUT)) if len(held) > 1 else 0
        scored = set(held[:cut].tolist())
        parts = ["score" if i in scored else "fit" for i in range(len(score_sources))]
        targets = [{"label": lab, "part": p} for lab, p in zip(score_labels, parts, strict=True)]
        return PretrainDataset(score.info, score_sources, targets, img_size, score.files)
    keep = [i for i, t in enumerate(fit.targets) if int(t) >= 0]
    sources = [fit.sources[i] for i in keep] + score_sources
    targets = [{"label": int(fit.targets[i]), "part": "fit"} for i in keep]
    targets += [{"label": lab, "part": "score"} for lab in score_labels]
    return PretrainDataset(score.info, sources, targets, img_size, list(fit.files) + list(score.files))
