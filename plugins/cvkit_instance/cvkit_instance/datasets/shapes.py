"""``builtin:shapes`` for instance segmentation: the core's generated scenes (:mod:`cvkit.vision.shapes`: circles,
squares and rotated triangles on noisy gradient backgrounds, random colours) drawn at 64 x 64 px, with one mask per
object.

Written as a real COCO dataset (``cvkit data make shapes --task instance --out DIR``): ``train2017/``, ``val2017/``
and ``annotations/instances_{train,val}2017.json`` whose ``segmentation`` fields are compressed RLE (visible pixels
of each object; ``bbox`` and ``area`` are those of the mask). ``--size N`` training images (default 1,000; validation
gets N/10). Deterministic from the seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import BuiltinDataset
from cvkit.errors import CvkitError
from cvkit.vision.shapes import write_shapes

IMAGE_SIZE = 64
DEFAULT_SIZE = 1000


class ShapesInstanceDataset(BuiltinDataset):
    name = "shapes"
    formats = ("coco",)
    description = "circles, squares and triangles with RLE masks, 64 px, COCO layout; SIZE train images"

    def card(self) -> dict[str, Any]:
        """Shapes may also be flipped vertically."""
        return {"defaults": {"model_args": {"vflip": True}}}

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        if fmt not in self.formats:
            raise CvkitError(f"shapes for instance segmentation can be written as coco, not {fmt!r}")
        write_shapes(out, DEFAULT_SIZE if size is None else int(size), seed, "coco", image_size=IMAGE_SIZE,
                     masks="rle")
        return f"coco:{out}"
