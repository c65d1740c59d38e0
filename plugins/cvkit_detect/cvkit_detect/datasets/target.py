"""The raw detection target: one dict per image, in original image coordinates, as loaders produce it.

Keys (numpy arrays, so targets are cheap to pickle into DataLoader workers and evaluators):

- ``boxes``: float64 ``(N, 4)``, ``[x1, y1, x2, y2]`` in 0-based pixel-edge coordinates: a box covering pixel
  columns ``a..b`` (0-based, inclusive) spans ``x1 = a`` to ``x2 = b + 1``. A VOC box ``xmin..xmax`` (1-based,
  inclusive) is therefore ``[xmin - 1, ymin - 1, xmax, ymax]`` and a COCO ``[x, y, w, h]`` is ``[x, y, x + w, y + h]``:
  the same pixels give the same box in both formats (the convention of Detectron2).
- ``labels``: int64 ``(N,)`` contiguous class indices.
- ``difficult``: bool ``(N,)`` (VOC ``<difficult>1``), ``iscrowd``: bool ``(N,)`` (COCO crowd regions): both are
  ignored by the metrics and left out of training by default.
- ``area``: float64 ``(N,)``, the region area COCOeval uses for its small/medium/large ranges (COCO's own ``area``
  field; the box area for VOC).
- ``size``: ``(height, width)`` of the original image; ``image_id``: the COCO image id (int) or the VOC image id.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def make_target(
    boxes: Any,
    labels: Any,
    size: tuple[int, int],
    difficult: Any = None,
    iscrowd: Any = None,
    area: Any = None,
    image_id: Any = None,
) -> dict[str, Any]:
    """Build a raw target dict with the dtypes and shapes every consumer relies on."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    n = len(b)
    lab = np.asarray(labels, dtype=np.int64).reshape(n)
    diff = np.zeros(n, bool) if difficult is None else np.asarray(difficult, dtype=bool).reshape(n)
    crowd = np.zeros(n, bool) if iscrowd is None else np.asarray(iscrowd, dtype=bool).reshape(n)
    if area is None:
        area = (b[:, 2] - b[:, 0]).clip(min=0) * (b[:, 3] - b[:, 1]).clip(min=0)
    return {
        "boxes": b,
        "labels": lab,
        "difficult": diff,
        "iscrowd": crowd,
        "area": np.asarray(area, dtype=np.float64).reshape(n),
        "size": (int(size[0]), int(size[1])),
        "image_id": image_id,
    }


def ignored(target: dict[str, Any]) -> np.ndarray:
    """Boolean mask of the objects metrics ignore and training leaves out (VOC difficult, COCO crowd)."""
    return np.asarray(target["difficult"], bool) | np.asarray(target["iscrowd"], bool)
