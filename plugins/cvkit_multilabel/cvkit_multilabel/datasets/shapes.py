"""``builtin:shapes``: the embedded shapes scenes (``cvkit.vision.shapes``) as multi-label images: an image is
labelled with every kind of shape it shows (circle, square, triangle). Written as COCO instances (read back as
image-level labels) or as VOC with the per-class lists ``ImageSets/Main/<class>_<split>.txt``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import BuiltinDataset
from cvkit.errors import UsageError

DEFAULT_SIZE = 2000  # training scenes; validation gets a fifth as many
IMAGE_SIZE = 64


class ShapesBuiltin(BuiltinDataset):
    name = "shapes"
    version = 2  # 2: COCO polygons traced along the pixels' edges (they rasterise back to the exact masks)
    formats = ("coco", "voc")
    description = "procedural 64 px scenes of 1-4 circles, squares and triangles; labels: the kinds present"

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        from cvkit.vision.shapes import write_shapes

        if fmt not in self.formats:
            raise UsageError(f"builtin:{self.name} is written as {', '.join(self.formats)}, not {fmt!r}")
        n = DEFAULT_SIZE if size is None else int(size)
        path = write_shapes(Path(out), n, seed, fmt=fmt, image_size=IMAGE_SIZE, val_size=max(1, n // 5))
        return f"{fmt}:{path}"

    def card(self) -> dict[str, Any]:
        return {"defaults": {"img_size": IMAGE_SIZE}}
