"""``builtin:shapes``: the core's shapes scenes (128 px, 1-4 overlapping circles, squares and triangles of
12-48 px) written as COCO instances with polygon masks (exact: they rasterise back to the drawn pixels);
every object is a segmentation target.

SIZE training scenes (default 6,000, about 15,000 objects) and 400 validation scenes (``SIZE // 10`` for an
explicit SIZE).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import BuiltinDataset
from cvkit.errors import CvkitError
from cvkit.vision.shapes import write_shapes

DEFAULT_SIZE = 6000


class ShapesPromptDataset(BuiltinDataset):
    name = "shapes"
    version = 2  # 2: COCO polygons traced along the pixels' edges (they rasterise back to the exact masks)
    formats = ("coco",)
    description = "circles, squares and triangles, 1-4 overlapping, 128 px, polygon masks; SIZE train scenes " \
                  f"(default {DEFAULT_SIZE})"

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        if fmt not in self.formats:
            raise CvkitError(f"shapes for promptseg can be written as coco only, not {fmt!r}")
        n = DEFAULT_SIZE if size is None else int(size)
        val = max(100, n // 15) if size is None else None  # explicit sizes: the core's default, SIZE // 10
        write_shapes(out, n, seed, fmt="coco", image_size=128, masks="polygon", val_size=val)
        return f"coco:{out}"

    def card(self) -> dict[str, Any]:
        return {"defaults": {"img_size": 128}}
