"""The raw segmentation target: where a sample's label map comes from. It is decoded only when needed (training
samples, evaluation), so that a parsed split stays a list of small dicts however large the dataset.

Kinds (every target is a plain dict, cheap to pickle into DataLoader workers):

- ``{"kind": "png", "file": PATH}``: a VOC-style label PNG (palette indices, 255 = void);
- ``{"kind": "sbd", "file": PATH}``: an SBD ``cls/<id>.mat`` file (``GTcls.Segmentation``);
- ``{"kind": "coco", "file": JSON, "size": (h, w), "objects": [{"segmentation", "label", "iscrowd"}]}``: COCO
  instances rasterised into one map: each object paints its class index, pixels covered by two or more objects and
  crowd regions become 255 (void), as torchvision's segmentation references do.

:func:`load_label` returns the ``(H, W)`` uint8 class-index map and checks every value is a class index or 255.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.errors import BadInput
from cvkit.vision.masks import label_map
from cvkit.vision.schema import ObjectAnnotation
from cvkit_segment.palette import VOID, read_label_png


def png_target(path: str | Path) -> dict[str, Any]:
    return {"kind": "png", "file": str(path)}


def sbd_target(path: str | Path) -> dict[str, Any]:
    return {"kind": "sbd", "file": str(path)}


def coco_target(annotation_file: str | Path, size: tuple[int, int], objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "coco", "file": str(annotation_file), "size": (int(size[0]), int(size[1])), "objects": objects}


def label_file(target: dict[str, Any]) -> str:
    """The file a target's labels are read from (for error messages)."""
    return str(target.get("file", "?"))


def load_label(target: dict[str, Any], num_classes: int, colours: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """Decode a raw target into its ``(H, W)`` uint8 class-index map (255 = void)."""
    kind = target.get("kind")
    if kind == "png":
        labels = read_label_png(target["file"], colours)
    elif kind == "sbd":
        labels = _read_sbd(Path(target["file"]))
    elif kind == "coco":
        labels = rasterise(target["objects"], target["size"], target["file"])
    else:
        raise ValueError(f"unknown segmentation target kind {kind!r}")
    check_values(labels, num_classes, target["file"])
    return labels


def check_values(labels: np.ndarray, num_classes: int, where: str | Path) -> None:
    if labels.size == 0 or int(labels.max()) < num_classes:
        return
    bad = (labels >= num_classes) & (labels != VOID)
    if bad.any():
        v = int(labels[bad][0])
        raise BadInput(where, f"pixel value {v} is neither a class index (0..{num_classes - 1}) nor {VOID} (void)")


def _read_sbd(path: Path) -> np.ndarray:
    from scipy.io import loadmat

    try:
        mat = loadmat(str(path), squeeze_me=True, struct_as_record=False)
        seg = mat["GTcls"].Segmentation
    except FileNotFoundError:
        raise BadInput(path, "label file not found") from None
    except (KeyError, AttributeError):
        raise BadInput(path, "no GTcls.Segmentation in this .mat file") from None
    except Exception as exc:  # scipy raises several types for damaged files
        raise BadInput(path, f"not a readable .mat file ({type(exc).__name__}: {exc})") from None
    arr = np.asarray(seg)
    if arr.ndim != 2:
        raise BadInput(path, f"GTcls.Segmentation has shape {arr.shape}, expected (H, W)")
    return arr.astype(np.uint8)


def rasterise(objects: list[dict[str, Any]], size: tuple[int, int], file: str) -> np.ndarray:
    """Paint COCO objects (``segmentation``, ``label``, ``iscrowd``) into one class-index map (the core's
    :func:`cvkit.vision.masks.label_map`: overlaps of two or more objects and crowd regions are void)."""
    objs = [ObjectAnnotation(box=(0.0, 0.0, 0.0, 0.0), label=int(o["label"]), iscrowd=bool(o.get("iscrowd")),
                             segmentation=o["segmentation"], id=o.get("id")) for o in objects]
    return label_map(objs, int(size[0]), int(size[1]), file=file)
