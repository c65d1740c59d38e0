"""``builtin:shapes`` for segmentation: the detection plugin's generated scenes (circles, squares and rotated
triangles on noisy gradient backgrounds, random colours) drawn at 64 x 64 px, with their pixel masks.

Written as a real VOC segmentation dataset (``cvkit data make shapes --task segment --out DIR``, format ``voc-seg``):
``JPEGImages/``, ``SegmentationClass/`` (palette PNGs: 0 background, 1 circle, 2 square, 3 triangle),
``SegmentationObject/`` (instance numbers in the order of the objects of ``Annotations/<id>.xml``),
``ImageSets/Segmentation/{train,val,trainval}.txt`` and a ``labelmap.txt`` naming the classes. ``--size N`` is the
number of training images (default 3,000; validation gets N/10). Deterministic from the seed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.errors import CvkitError
from cvkit.task import BuiltinDataset
from cvkit_detect.datasets.shapes import CLASSES as SHAPES
from cvkit_detect.datasets.shapes import _save_jpeg, _voc_xml, generate
from cvkit_segment.palette import encode_label_png, voc_colormap

IMAGE_SIZE = 64
CLASSES = ("background", *SHAPES)
DEFAULT_SIZE = 3000


def scene(seed: int, split: str, i: int, s: int = IMAGE_SIZE) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Image ``i`` of ``split``: RGB ``(s, s, 3)``, class map and instance map ``(s, s)`` uint8, and the objects."""
    img, objects = generate(seed, split, i, s)
    labels = np.zeros((s, s), np.uint8)
    instances = np.zeros((s, s), np.uint8)
    for k, o in enumerate(objects):
        labels[o["mask"]] = o["label"] + 1
        instances[o["mask"]] = k + 1
    return img, labels, instances, objects


def write_voc_seg(out: Path, counts: dict[str, int], seed: int) -> None:
    for d in ("JPEGImages", "SegmentationClass", "SegmentationObject", "Annotations", "ImageSets/Segmentation"):
        (out / d).mkdir(parents=True, exist_ok=True)
    cmap = voc_colormap(len(CLASSES))
    lines = ["# label:color_rgb:parts:actions"] + [f"{n}:{','.join(str(int(v)) for v in c)}::"
                                                   for n, c in zip(CLASSES, cmap, strict=True)]
    (out / "labelmap.txt").write_text("\n".join(lines) + "\n")
    ids: dict[str, list[str]] = {}
    for split, n in counts.items():
        ids[split] = []
        for i in range(n):
            image_id = f"{split}_{i:06d}"
            img, labels, instances, objects = scene(seed, split, i)
            _save_jpeg(out / "JPEGImages" / f"{image_id}.jpg", img)
            (out / "SegmentationClass" / f"{image_id}.png").write_bytes(encode_label_png(labels))
            (out / "SegmentationObject" / f"{image_id}.png").write_bytes(encode_label_png(instances))
            (out / "Annotations" / f"{image_id}.xml").write_bytes(_voc_xml(image_id, img.shape[0], objects))
            ids[split].append(image_id)
    ids["trainval"] = ids["train"] + ids["val"]
    for split, names in ids.items():
        (out / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("".join(f"{n}\n" for n in names))


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
        n = DEFAULT_SIZE if size is None else int(size)
        counts = {"train": n, "val": max(1, n // 10)}
        out = Path(out)
        if out.exists() and any(out.iterdir()):
            raise CvkitError(f"{out} exists and is not empty")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            write_voc_seg(tmp, counts, seed)
            if out.exists():
                out.rmdir()
            os.replace(tmp, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return f"voc:{out}"
