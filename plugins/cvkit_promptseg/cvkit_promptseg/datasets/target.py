"""The raw target of one image: its objects' masks in original pixels, as plain data (no image decoding).

``{"size": [h, w], "objects": [{"label": int, "box": [x1, y1, x2, y2], "segmentation": polygons | RLE | None,
"instance": int | None}], "object_png": path | None, "ignored": int}``: COCO objects carry their polygons or RLE;
VOC objects carry the value of their pixels in ``SegmentationObject/<id>.png`` (whose 255 border pixels count
neither as object nor as background). Crowd regions and VOC difficult objects are left out (``ignored`` counts
them): a prompt for a crowd has no single right answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cvkit.vision.masks import VOID, read_index_png, segmentation_mask
from cvkit.vision.schema import ImageAnnotation

# Prompts are class-agnostic: every dataset has the one class "object" (its own class names are kept in
# DatasetInfo.extra["object_classes"]), so a model evaluates on any COCO/VOC data without a class-list mismatch.
CLASSES = ("object",)


def from_image(im: ImageAnnotation, object_png: str | None = None) -> dict[str, Any]:
    objects = [
        {"label": int(o.label), "box": [float(v) for v in o.box], "segmentation": o.segmentation,
         "instance": int(o.id) if object_png is not None and o.id is not None else None}
        for o in im.objects if not o.ignored
    ]
    return {"size": [int(im.height), int(im.width)], "objects": objects, "object_png": object_png,
            "ignored": sum(1 for o in im.objects if o.ignored)}


def object_masks(target: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """``(K, h, w)`` bool masks of the objects and the ``(h, w)`` ignore mask (None when nothing is ignored)."""
    h, w = (int(v) for v in target["size"])
    objects = target["objects"]
    if target.get("object_png"):
        ids = read_index_png(target["object_png"], "object label image", "instance numbers")
        if h == 0 or w == 0:
            h, w = ids.shape
        masks = np.stack([ids == o["instance"] for o in objects]) if objects else np.zeros((0, h, w), bool)
        void = ids == VOID
        return masks, void if void.any() else None
    masks = np.zeros((len(objects), h, w), bool)
    for k, o in enumerate(objects):
        if o["segmentation"] is not None:
            masks[k] = segmentation_mask(o["segmentation"], h, w)
        else:  # no outline: the box, rounded out to whole pixels
            x1, y1, x2, y2 = o["box"]
            masks[k, max(int(np.floor(y1)), 0):int(np.ceil(y2)), max(int(np.floor(x1)), 0):int(np.ceil(x2))] = True
    return masks, None
