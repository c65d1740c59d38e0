"""Box-task training augmentation on a whole batch, on the batch's device (the way GPU pipelines augment).

The per-sample ``transforms.v2`` pipeline (:func:`cvkit.vision.transforms.box_train_transform`) costs about 3 ms of
Python-level work per 128-px sample on a CPU core, which the training step then waits for. :func:`augment`
draws the same augmentations for every sample of a batch at once: RandomPhotometricDistort's brightness, contrast,
saturation, hue and channel permutation (each with probability 0.5, contrast before or after saturation and hue),
horizontal flips (and vertical ones where the dataset asks), and RandomAffine's scale (0.75-1.25) and translation
(10 % of the side, whole pixels) about the centre with nearest-neighbour sampling and black fill; the boxes move with
the image, are clipped to it, and boxes thinner than 2 px are dropped (ClampBoundingBoxes, SanitizeBoundingBoxes);
label maps move the same way, uncovered pixels taking the task's fill (void).
Flips and the affine are one ``grid_sample`` per batch. The draws come from a generator seeded per step, so a
resumed run repeats them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from cvkit.task import Batch

Targets = list[dict[str, Any]] | torch.Tensor

BRIGHTNESS = (0.875, 1.125)
CONTRAST = (0.5, 1.5)
SATURATION = (0.5, 1.5)
HUE = (-0.05, 0.05)
SCALE = (0.75, 1.25)
TRANSLATE = 0.1
MIN_SIZE = 2.0
_GRAY = (0.2989, 0.587, 0.114)  # torchvision's rgb_to_grayscale weights


def _uniform(n: int, low: float, high: float, g: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=g) * (high - low) + low


def _chance(n: int, p: float, g: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=g) < p


def _gray(x: torch.Tensor) -> torch.Tensor:
    w = x.new_tensor(_GRAY).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def _blend(x: torch.Tensor, other: torch.Tensor, factor: torch.Tensor, on: torch.Tensor) -> torch.Tensor:
    """``factor * x + (1 - factor) * other`` clipped to [0, 1] where ``on`` (per sample), else ``x``."""
    f = factor.view(-1, 1, 1, 1)
    mixed = (f * x + (1 - f) * other).clamp(0, 1)
    return torch.where(on.view(-1, 1, 1, 1), mixed, x)


def _hue(x: torch.Tensor, shift: torch.Tensor, on: torch.Tensor) -> torch.Tensor:
    """torchvision's ``adjust_hue`` (through HSV) on the samples where ``on``, each by its own ``shift``."""
    if not bool(on.any()):
        return x
    out = x.clone()
    for i in torch.nonzero(on).flatten().tolist():
        out[i] = TF.adjust_hue(x[i], float(shift[i]))
    return out


def photometric(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """RandomPhotometricDistort (p=0.5 for each part) on images ``(B, 3, H, W)`` in [0, 1], per sample."""
    n, dev = x.shape[0], x.device
    draws = {name: (_chance(n, 0.5, g).to(dev), _uniform(n, *rng, g).to(dev))
             for name, rng in (("brightness", BRIGHTNESS), ("contrast", CONTRAST), ("saturation", SATURATION),
                               ("hue", HUE))}
    contrast_before = _chance(n, 0.5, g).to(dev)
    permute = _chance(n, 0.5, g).to(dev)
    perms = torch.stack([torch.randperm(3, generator=g) for _ in range(n)]).to(dev)

    def contrast(y: torch.Tensor, on: torch.Tensor) -> torch.Tensor:
        return _blend(y, _gray(y).mean((2, 3), keepdim=True), draws["contrast"][1], on)

    on, f = draws["brightness"]
    x = _blend(x, torch.zeros_like(x[:, :1]), f, on)
    x = contrast(x, draws["contrast"][0] & contrast_before)
    on, f = draws["saturation"]
    x = _blend(x, _gray(x), f, on)
    x = _hue(x, draws["hue"][1], draws["hue"][0])
    x = contrast(x, draws["contrast"][0] & ~contrast_before)
    permuted = x.gather(1, perms.view(n, 3, 1, 1).expand_as(x))
    return torch.where(permute.view(-1, 1, 1, 1), permuted, x)


def augment(images: torch.Tensor, targets: Targets, mean: Sequence[float], std: Sequence[float],
            generator: torch.Generator, vflip: bool = False, fill: int = 0) -> tuple[torch.Tensor, Targets]:
    """Augment normalised images ``(B, 3, S, S)`` and their targets: per sample ``{"boxes": (N, 4) XYXY input
    pixels, "labels": (N,), ...}`` (other keys are kept as they are), or label maps ``(B, S, S)`` whose uncovered
    pixels become ``fill``. Returns new images and targets."""
    n, _, h, w = images.shape
    m = images.new_tensor(list(mean)).view(1, -1, 1, 1)
    s = images.new_tensor(list(std)).view(1, -1, 1, 1)
    x = photometric((images * s + m).clamp(0, 1), generator)
    hflip = _chance(n, 0.5, generator)
    vflips = _chance(n, 0.5, generator) if vflip else torch.zeros(n, dtype=torch.bool)
    tx = torch.round(_uniform(n, -TRANSLATE * w, TRANSLATE * w, generator))
    ty = torch.round(_uniform(n, -TRANSLATE * h, TRANSLATE * h, generator))
    scale = _uniform(n, *SCALE, generator)
    x, targets = geometry(x, targets, hflip, vflips, tx, ty, scale, fill)
    return (x - m) / s, targets


def geometry(x: torch.Tensor, targets: Targets, hflip: torch.Tensor, vflip: torch.Tensor, tx: torch.Tensor,
             ty: torch.Tensor, scale: torch.Tensor, fill: int = 0) -> tuple[torch.Tensor, Targets]:
    """Flip sample ``i`` (``hflip[i]``, ``vflip[i]``), then scale it by ``scale[i]`` about the image centre and
    shift it by ``(tx[i], ty[i])`` pixels (torchvision's ``affine`` with angle and shear 0, nearest neighbour, black
    fill), its targets with it: boxes clipped to the image and those under 2 px wide or high dropped; a label map
    ``(B, H, W)`` resampled the same way, ``fill`` where nothing maps."""
    n, _, h, w = x.shape
    # output pixel q (normalised, centre 0) samples the input at F (q - t) / s, F the flips
    fx = torch.where(hflip, -1.0, 1.0)
    fy = torch.where(vflip, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = fx / scale
    theta[:, 0, 2] = -fx * (2 * tx / w) / scale
    theta[:, 1, 1] = fy / scale
    theta[:, 1, 2] = -fy * (2 * ty / h) / scale
    grid = F.affine_grid(theta.to(x.device, x.dtype), [n, x.shape[1], h, w], align_corners=False)
    x = F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    if isinstance(targets, torch.Tensor):  # label maps: the same nearest-neighbour sampling, shifted so 0 is fill
        maps = F.grid_sample((targets.to(x.dtype) - fill)[:, None], grid, mode="nearest", padding_mode="zeros",
                             align_corners=False)
        return x, (maps[:, 0] + fill).round().to(targets.dtype)
    out = []
    for i, t in enumerate(targets):
        boxes = t["boxes"].to(torch.float32)
        if bool(hflip[i]):
            boxes = torch.stack((w - boxes[:, 2], boxes[:, 1], w - boxes[:, 0], boxes[:, 3]), 1)
        if bool(vflip[i]):
            boxes = torch.stack((boxes[:, 0], h - boxes[:, 3], boxes[:, 2], h - boxes[:, 1]), 1)
        c = boxes.new_tensor([w / 2, h / 2, w / 2, h / 2])
        shift = boxes.new_tensor([float(tx[i]), float(ty[i])] * 2)
        boxes = (boxes - c) * float(scale[i]) + c + shift
        boxes = torch.stack((boxes[:, 0].clamp(0, w), boxes[:, 1].clamp(0, h), boxes[:, 2].clamp(0, w),
                             boxes[:, 3].clamp(0, h)), 1)
        keep = ((boxes[:, 2] - boxes[:, 0]) >= MIN_SIZE) & ((boxes[:, 3] - boxes[:, 1]) >= MIN_SIZE)
        out.append({**t, "boxes": boxes[keep], "labels": t["labels"][keep]})
    return x, out


def seeded(seed: int) -> torch.Generator:
    """A CPU generator for one step's draws (the parameters are small; the images stay on their device)."""
    return torch.Generator().manual_seed(int(seed) % 2**63)


def apply(batch: Batch, seed: int) -> Batch:
    """``batch`` augmented by :func:`augment` when its samples' meta asks for it (``"augment"``, set by an
    :class:`~cvkit.vision.dataset.ImageAnnotationDataset` with a batch transform), else ``batch`` itself."""
    spec = batch.meta[0].get("augment") if batch.meta and batch.targets is not None else None
    if not spec:
        return batch
    targets = batch.targets if isinstance(batch.targets, torch.Tensor) else list(batch.targets)
    images, targets = augment(batch.inputs, targets, spec["mean"], spec["std"], seeded(seed), bool(spec["vflip"]),
                              int(spec.get("fill", 0)))
    return Batch(images, targets, batch.indices, batch.meta)
