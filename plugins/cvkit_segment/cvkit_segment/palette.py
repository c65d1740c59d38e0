"""Label maps on disk: PASCAL VOC palette PNGs whose pixel values are class indices (255 = void).

A label PNG is read as indices, never converted to RGB: a palette ("P") or greyscale image gives its pixel values
directly. An RGB label image (a palette PNG someone converted to colour) is mapped back through the dataset's colours;
a colour that belongs to no class is an error naming the file. Written label maps are palette PNGs with the VOC
colour map (``VOClabelcolormap.m``), or the dataset's own colours where it declares them: the colour map, palettes
and PNG encoding are the core's (:mod:`cvkit.vision.masks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cvkit.errors import BadInput
from cvkit.vision.masks import VOID, encode_label_png, palette, voc_colormap

__all__ = ["VOC_CLASSES", "VOID", "colour_of", "encode_label_png", "palette", "read_label_png", "voc_colormap"]

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)


def read_label_png(path: str | Path, colours: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """The class-index map ``(H, W)`` uint8 of a label image (palette, greyscale or, failing that, RGB colours)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode in ("P", "L", "1"):
                return np.array(img, dtype=np.uint8)  # a writable copy
            if mode in ("I", "I;16", "I;16B", "I;16L"):
                arr = np.asarray(img)
                if arr.size and (arr.min() < 0 or arr.max() > VOID):
                    raise BadInput(path, f"label values {arr.min()}..{arr.max()} do not fit 0..255")
                return arr.astype(np.uint8)
            if mode in ("RGB", "RGBA"):
                return _from_colours(path, np.asarray(img.convert("RGB")), colours)
    except FileNotFoundError:
        raise BadInput(path, "label image not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadInput(path, f"not a readable label image ({type(exc).__name__}: {exc})") from None
    raise BadInput(path, f"unsupported label image mode {mode!r} (expected a palette or greyscale PNG)")


def _from_colours(path: Path, rgb: np.ndarray, colours: Sequence[Sequence[int]] | None) -> np.ndarray:
    pal = palette(colours)
    n = len(colours) if colours else len(VOC_CLASSES)
    keys = {int(c[0]) << 16 | int(c[1]) << 8 | int(c[2]): k for k, c in enumerate(pal[:n])}
    keys.setdefault(int(pal[VOID][0]) << 16 | int(pal[VOID][1]) << 8 | int(pal[VOID][2]), VOID)
    code = rgb[..., 0].astype(np.int64) << 16 | rgb[..., 1].astype(np.int64) << 8 | rgb[..., 2]
    uniq, inverse = np.unique(code, return_inverse=True)
    lut = np.empty(len(uniq), np.uint8)
    for i, u in enumerate(uniq):
        if int(u) not in keys:
            colour = (int(u) >> 16, (int(u) >> 8) & 255, int(u) & 255)
            raise BadInput(path, f"colour {colour} is not the colour of any class")
        lut[i] = keys[int(u)]
    return lut[inverse].reshape(code.shape)


def colour_of(index: int, colours: Sequence[Sequence[int]] | None = None) -> tuple[int, int, int]:
    c = palette(colours)[int(index) % 256]
    return int(c[0]), int(c[1]), int(c[2])
