"""The raw pose target: all annotated people of one image, in original image coordinates.

Coordinate convention (the one every consumer relies on): keypoints and crop centres are 0-based pixel-centre
coordinates, pixel ``(i, j)`` of the image being the point ``x = i, y = j``, as in COCO keypoints and in
OpenCV's ``warpAffine``. MPII files are 1-based (MATLAB): the MPII loaders subtract 1 from joints, centres and
head boxes when reading (HRNet's adjustment), so comparing a 0-based prediction with the stored joint is exactly
MATLAB's "prediction + 1 against the 1-based ground truth". Boxes (``boxes``, ``head_boxes``) are
``[x1, y1, x2, y2]``; only their size matters to the metrics.

Keys (numpy arrays, cheap to pickle into DataLoader workers and evaluator states); ``P`` people, ``K`` keypoints:

- ``keypoints`` float64 ``(P, K, 2)``; ``visible`` int64 ``(P, K)``: 0 not labelled, > 0 labelled (COCO's ``v``:
  1 labelled but not visible, 2 visible; MPII's ``joints_vis``: 1 labelled). Only "labelled" matters to the
  metrics and to the training weights.
- ``boxes`` float64 ``(P, 4)``: the person box (COCO ``bbox``; for MPII the labelled joints' extent, grown).
- ``bbox`` float64 ``(P, 4)``: the same box as COCO's ``[x, y, w, h]`` (COCO's own numbers, untouched).
- ``crops`` float64 ``(P, 3)``: ``[cx, cy, side]`` of the square person crop a top-down model sees, enlargement
  included (MPII: ``c_y += 15 s``, ``side = 200 px * 1.25 s``; COCO: box centre, ``side = 1.25 max(w, h)``).
- ``head_boxes`` float64 ``(P, 4)``, NaN rows where unknown (PCKh needs them).
- ``area`` float64 ``(P,)`` (COCO ``area``; MPII: box area), ``iscrowd`` bool ``(P,)``, ``num_keypoints`` int64
  ``(P,)`` (COCO's own field, which pycocotools reads).
- ``size`` ``(height, width)``, ``(0, 0)`` when the loader did not read it (MPII annotations name no size);
  ``image_id`` the dataset's image id.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ENLARGE = 1.25  # person box -> crop side, as HRNet and mmpose
MPII_CENTRE_SHIFT = 15.0  # MPII centres are moved down 15 * scale px (to keep the legs in the crop)
MPII_PIXELS = 200.0  # MPII's scale unit


def make_target(keypoints: Any, visible: Any, size: tuple[int, int], *, boxes: Any = None, crops: Any = None,
                head_boxes: Any = None, area: Any = None, iscrowd: Any = None, num_keypoints: Any = None,
                image_id: Any = None, num_joints: int | None = None, bbox: Any = None) -> dict[str, Any]:
    """A raw target with the dtypes and shapes every consumer relies on (missing parts filled in)."""
    kp = np.asarray(keypoints, np.float64)
    k = kp.shape[1] if kp.ndim == 3 else int(num_joints or 0)
    kp = kp.reshape(-1, k, 2)
    p = len(kp)
    vis = np.asarray(visible, np.int64).reshape(p, k)
    if boxes is None:
        boxes = np.stack([joint_box(kp[i], vis[i], size) for i in range(p)]) if p else np.zeros((0, 4))
    boxes = np.asarray(boxes, np.float64).reshape(p, 4)
    if bbox is None:
        bbox = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], 1)
    if crops is None:
        crops = np.stack([box_crop(b) for b in boxes]) if p else np.zeros((0, 3))
    heads = np.full((p, 4), np.nan) if head_boxes is None else np.asarray(head_boxes, np.float64).reshape(p, 4)
    if area is None:
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return {
        "keypoints": kp,
        "visible": vis,
        "boxes": boxes,
        "bbox": np.asarray(bbox, np.float64).reshape(p, 4),
        "crops": np.asarray(crops, np.float64).reshape(p, 3),
        "head_boxes": heads,
        "area": np.asarray(area, np.float64).reshape(p),
        "iscrowd": np.zeros(p, bool) if iscrowd is None else np.asarray(iscrowd, bool).reshape(p),
        "num_keypoints": (vis > 0).sum(1) if num_keypoints is None else np.asarray(num_keypoints, np.int64),
        "size": (int(size[0]), int(size[1])),
        "image_id": image_id,
    }


def mpii_crop(center: Any, scale: float) -> np.ndarray:
    """HRNet's crop from an MPII centre (already 0-based) and scale: ``c_y += 15 s``, side ``200 * 1.25 s``."""
    cx, cy = float(center[0]), float(center[1])
    return np.array([cx, cy + MPII_CENTRE_SHIFT * scale, MPII_PIXELS * ENLARGE * scale])


def box_crop(box: Any) -> np.ndarray:
    """The square crop around a person box ``[x1, y1, x2, y2]`` (pixel edges): centre, ``1.25 * max(w, h)``."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return np.array([(x1 + x2) / 2 - 0.5, (y1 + y2) / 2 - 0.5, ENLARGE * max(x2 - x1, y2 - y1, 1.0)])


def joint_box(keypoints: np.ndarray, visible: np.ndarray, size: tuple[int, int], grow: float = 0.1) -> np.ndarray:
    """The box of the labelled joints (pixel edges), grown by ``grow`` of its size on each side, clipped to the
    image when its ``size`` is known (not ``(0, 0)``)."""
    pts = keypoints[visible > 0]
    if len(pts) == 0:
        return np.zeros(4)
    x1, y1 = pts.min(0)
    x2, y2 = pts.max(0) + 1
    dx, dy = grow * (x2 - x1), grow * (y2 - y1)
    box = np.array([x1 - dx, y1 - dy, x2 + dx, y2 + dy])
    h, w = size
    if h > 0 and w > 0:
        box = np.clip(box, 0, [w, h, w, h])
    return box


def scorable(target: dict[str, Any]) -> np.ndarray:
    """People a top-down model is run on and trained with: not crowd, at least one labelled keypoint."""
    return ~np.asarray(target["iscrowd"], bool) & ((np.asarray(target["visible"]) > 0).sum(1) > 0)


def select(target: dict[str, Any], people: Any) -> dict[str, Any]:
    """The target restricted to ``people`` (indices or a mask)."""
    out = dict(target)
    for key in ("keypoints", "visible", "boxes", "bbox", "crops", "head_boxes", "area", "iscrowd", "num_keypoints"):
        out[key] = np.asarray(target[key])[people]
    return out
