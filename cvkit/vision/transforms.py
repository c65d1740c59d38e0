"""Box transforms (torchvision ``transforms.v2``) for every box task: boxes (and masks) travel with the image as
``tv_tensors``.

Every image is resized to a square ``img_size x img_size`` (aspect ratio not kept, as SSD and YOLO do), first;
``predict_step`` scales boxes back by the per-axis factors. Training then adds photometric distortion, horizontal flips
(vertical too for datasets whose card asks for them, such as ``builtin:shapes``) and scale jitter with translation
(``RandomAffine``); boxes are then clipped to the image and boxes thinner than 2 px dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision.transforms import v2


def box_train_transform(size: int, mean: Sequence[float], std: Sequence[float], vflip: bool = False) -> v2.Compose:
    # Resize first: it draws nothing, so the dataset keeps the resized image in memory (decoded and resized once)
    # and everything random runs on S x S pixels, however large the files are
    ops: list[v2.Transform] = [v2.Resize((size, size), antialias=True), v2.RandomPhotometricDistort(p=0.5),
                               v2.RandomHorizontalFlip()]
    if vflip:
        ops.append(v2.RandomVerticalFlip())
    ops += [
        v2.RandomAffine(degrees=0.0, translate=(0.1, 0.1), scale=(0.75, 1.25)),
        v2.ClampBoundingBoxes(),
        v2.SanitizeBoundingBoxes(min_size=2.0),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(list(mean), list(std)),
    ]
    return v2.Compose(ops)


def box_eval_transform(size: int, mean: Sequence[float], std: Sequence[float]) -> v2.Compose:
    return v2.Compose([
        v2.Resize((size, size), antialias=True),
        v2.ClampBoundingBoxes(),
        v2.SanitizeBoundingBoxes(min_size=1.0),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(list(mean), list(std)),
    ])

