"""Joint image + label-map transforms (torchvision ``transforms.v2``): the label map travels with the image as a
``tv_tensors.Mask``, so every geometric step resamples it with nearest-neighbour interpolation and fills uncovered
pixels with 255 (void, ignored by the loss).

Images are resized to a square ``img_size x img_size`` (aspect ratio not kept); ``predict_step`` resizes the logits
back to each image's own size before the arg-max, so predictions and metrics are in original pixels. Training adds
photometric distortion, horizontal flips (vertical too where the dataset allows it, e.g. ``builtin:shapes``) and a
scale/translation jitter (``RandomAffine``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from cvkit_segment.palette import VOID


def train_transform(size: int, mean: Sequence[float], std: Sequence[float], vflip: bool = False) -> v2.Compose:
    # Resize first (it draws nothing): the dataset keeps resized images in memory; the random ops run on S x S
    ops: list[v2.Transform] = [v2.Resize((size, size), antialias=True), v2.RandomPhotometricDistort(p=0.5),
                               v2.RandomHorizontalFlip()]
    if vflip:
        ops.append(v2.RandomVerticalFlip())
    ops += [
        v2.RandomAffine(degrees=0.0, translate=(0.1, 0.1), scale=(0.75, 1.25),
                        fill={tv_tensors.Image: 0, tv_tensors.Mask: VOID}),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(list(mean), list(std)),
    ]
    return v2.Compose(ops)


def eval_transform(size: int, mean: Sequence[float], std: Sequence[float]) -> v2.Compose:
    return v2.Compose([
        v2.Resize((size, size), antialias=True),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(list(mean), list(std)),
    ])

