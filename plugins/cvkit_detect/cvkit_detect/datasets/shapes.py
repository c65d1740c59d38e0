"""``builtin:shapes``: the core's procedurally generated scenes (:mod:`cvkit.vision.shapes`) of circles, squares
and rotated triangles.

128x128 images with 1-4 objects of 12-48 px, random colours on noisy gradient backgrounds, overlapping a little
(each object stays at least ~70% visible; its box and area are those of its visible pixels). Deterministic from the
seed: image ``i`` of a split is drawn from its own generator ``(seed, split, i)``, so any size is a prefix-stable
subset. ``write`` stores it as a real VOC or COCO dataset; the loaders read it back like any other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import BuiltinDataset
from cvkit.errors import CvkitError
from cvkit.vision.shapes import CLASSES, IMAGE_SIZE, generate, write_shapes

__all__ = ["CLASSES", "IMAGE_SIZE", "ShapesDataset", "generate"]


class ShapesDataset(BuiltinDataset):
    name = "shapes"
    version = 2  # 2: COCO polygons traced along the pixels' edges (they rasterise back to the exact masks)
    formats = ("coco", "voc")
    description = "circles, squares and triangles on noisy backgrounds, 128 px; SIZE train images (default 2000)"

    def card(self) -> dict[str, Any]:
        """Shapes are symmetric: vertical flips help."""
        return {"defaults": {"model_args": {"vflip": True}}}

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        if fmt not in self.formats:
            raise CvkitError(f"shapes can be written as {' or '.join(self.formats)}, not {fmt!r}")
        write_shapes(out, 2000 if size is None else int(size), seed, fmt)
        return f"{fmt}:{out}"
