"""The caption dataset: decoded, resized images (kept in memory as uint8 while small) and encoded captions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from cvkit.io.images import read_image
from cvkit.task import AnnotatedDataset, DatasetInfo, ModelConfig
from cvkit.text import Vocabulary, tokenize
from cvkit.vision.cache import MemoryCache


def vocabulary(info: DatasetInfo, args: dict[str, Any]) -> Vocabulary:
    """The vocabulary of a model: the words of the training captions seen at least ``min_count`` times
    (``--model-arg min_count=``, default 1; 5 is usual for COCO), capped at ``max_vocab`` words."""
    counts = info.extra.get("word_counts") or {}
    words = [[w] * int(c) for w, c in counts.items()]
    max_size = args.get("max_vocab")
    return Vocabulary.build(words, int(args.get("min_count", 1)), int(max_size) if max_size else None)


def load_image(path: str, size: int) -> tuple[torch.Tensor, tuple]:
    """``path`` as a uint8 (3, size, size) tensor and its original (h, w)."""
    img = read_image(path)
    h, w = int(img.shape[-2]), int(img.shape[-1])
    if img.shape[0] == 1:
        img = img.expand(3, -1, -1)
    img = img[:3]
    if (h, w) != (size, size):
        img = F.interpolate(img[None].float(), (size, size), mode="bilinear", antialias=True,
                            align_corners=False)[0].round().clamp(0, 255).to(torch.uint8)
    return img, (h, w)


def normalise(img: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    m = torch.tensor(mean).view(-1, 1, 1)
    s = torch.tensor(std).view(-1, 1, 1)
    return (img.float() / 255.0 - m) / s


class CaptionDataset(AnnotatedDataset):
    """``self[i]`` = ``{"index", "image", "captions" (LongTensor (n, T) when training, else None), "meta"}``.

    No augmentation: flips would swap "left" and "right", crops would drop objects the captions mention."""

    random_transforms = False

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[list[str]] | None, model: ModelConfig,
                 train: bool, files: list[Path] | None = None) -> None:
        super().__init__(info, sources, targets, files)
        self.size, self.mean, self.std = int(model.img_size), tuple(model.mean), tuple(model.std)
        self.max_len = int(model.args.get("max_len", 20))
        self.vocab = vocabulary(info, model.args) if train and targets is not None else None
        self.cache = MemoryCache(enabled=targets is not None)  # resized uint8 images (cvkit.vision.cache)

    def encoded(self, index: int) -> torch.Tensor:
        assert self.vocab is not None and self.targets is not None
        rows = [self.vocab.encode(tokenize(c)[: self.max_len]) for c in self.targets[index]]
        out = torch.zeros(len(rows), max(len(r) for r in rows), dtype=torch.long)
        for k, r in enumerate(rows):
            out[k, : len(r)] = torch.tensor(r)
        return out

    def __getitem__(self, index: int) -> dict[str, Any]:
        img, size = self.cache.get(index, lambda: load_image(self.sources[index], self.size))
        return {"index": index, "image": normalise(img, self.mean, self.std),
                "captions": self.encoded(index) if self.vocab is not None else None,
                "meta": {"source": self.sources[index], "orig_size": size}}


def collate(samples: list[dict[str, Any]]) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None, list[int],
                                                    list[dict[str, Any]]]:
    """Images stacked; captions of all images in one padded (N, T) tensor with ``owner`` (N,) image indices."""
    images = torch.stack([s["image"] for s in samples])
    caps = [s["captions"] for s in samples]
    targets = None
    if all(c is not None for c in caps):
        t = max(c.shape[1] for c in caps)
        padded = torch.cat([F.pad(c, (0, t - c.shape[1])) for c in caps])
        owner = torch.cat([torch.full((c.shape[0],), k, dtype=torch.long) for k, c in enumerate(caps)])
        targets = {"captions": padded, "owner": owner}
    return images, targets, [int(s["index"]) for s in samples], [s["meta"] for s in samples]


def pick_captions(captions: torch.Tensor, owner: torch.Tensor, per_image: int,
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """At most ``per_image`` captions of each image, chosen at random (the global generator unless one is
    given), in image order; padding columns no kept caption needs are dropped."""
    n = owner.shape[0]
    keys = torch.rand(n, generator=generator, dtype=torch.float64, device=owner.device) + owner.double() * 2
    order = keys.argsort()  # grouped by image, in random order within each image
    grouped = owner[order]
    counts = torch.bincount(grouped)
    starts = counts.cumsum(0) - counts
    rank = torch.arange(n, device=owner.device) - starts[grouped]
    keep = order[rank < per_image].sort().values
    captions, owner = captions[keep], owner[keep]
    width = int((captions != 0).sum(1).max()) if captions.numel() else captions.shape[1]
    return captions[:, :width], owner
