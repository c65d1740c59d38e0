"""``builtin:shapes`` for segmentation: the core's generated scenes (:mod:`cvkit.vision.shapes`: circles, squares and
rotated triangles on noisy gradient backgrounds, random colours) drawn at 64 x 64 px, with their pixel masks.

Written as a real VOC segmentation dataset (``cvkit data make shapes --task segment --out DIR``, format ``voc-seg``):
``JPEGImages/``, ``SegmentationClass/`` (palette PNGs: 0 background, 1 circle, 2 square, 3 triangle),
``SegmentationObject/`` (instance numbers in the order of the objects of ``Annotations/<id>.xml``),
``ImageSets/Segmentation/{train,val,trainval}.txt`` and a ``labelmap.txt`` naming the classes. ``--size N`` is the
number of training images (default 3,000; validation gets N/10). Deterministic from the seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cvkit.contract import BuiltinDataset
from cvkit.errors import CvkitError
from cvkit.vision.shapes import CLASSES as SHAPES
from cvkit.vision.shapes import generate, label_maps, write_shapes

IMAGE_SIZE = 64
CLASSES = ("background", *SHAPES)
DEFAULT_SIZE = 3000


def scene(seed: int, split: str, i: int, s: int = IMAGE_SIZE) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Image ``i`` of ``split``: RGB ``(s, s, 3)``, class map and instance map ``(s, s)`` uint8, and the objects."""
    img, objects = generate(seed, split, i, s)
    labels, instances = label_maps(objects, s)
    return img, labels, instances, objects


class ShapesSegDataset(BuiltinDataset):
    name = "shapes"
    formats = ("voc-seg", "voc")
    description = "circles, squares and triangles with pixel masks, 64 px, VOC segmentation layout; SIZE train images"

    def card(self) -> dict[str, Any]:
        """Shapes may also be flipped vertically (their masks stay valid)."""
        return {"defaults": {"model_args": {"vflip": True}}}

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        if fmt not in self.formats:
            raise CvkitError(f"shapes for segmentation can be written as {' or '.join(self.formats)}, not {fmt!r}")
        write_shapes(out, DEFAULT_SIZE if size is None else int(size), seed, "voc-seg", image_size=IMAGE_SIZE)
        return f"voc:{out}"
