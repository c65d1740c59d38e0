"""Skeletons drawn with OpenCV on RGB images (predictions and ground truth)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from cvkit.task import DatasetInfo

LIMB = (255, 200, 0)
JOINT = (255, 60, 60)
GT = (60, 220, 60)
MIN_SIDE = 256  # small images are upscaled so that the drawing stays legible


def _canvas(image: np.ndarray) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    scale = max(1.0, MIN_SIDE / max(h, w))
    if scale > 1:
        image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_NEAREST)
    return np.ascontiguousarray(image.copy()), scale


def _pt(xy: Any, scale: float) -> tuple[int, int]:
    return int(round((xy[0] + 0.5) * scale - 0.5)), int(round((xy[1] + 0.5) * scale - 0.5))


def skeleton(img: np.ndarray, points: np.ndarray, ok: np.ndarray, edges: list[list[int]], scale: float,
             limb: tuple[int, int, int], joint: tuple[int, int, int]) -> None:
    """Limbs between ``ok`` joints, then the joints (in place)."""
    t = max(1, round(scale))
    for a, b in edges:
        if a < len(points) and b < len(points) and ok[a] and ok[b]:
            cv2.line(img, _pt(points[a], scale), _pt(points[b], scale), limb, t, cv2.LINE_AA)
    for k, p in enumerate(points):
        if ok[k]:
            cv2.circle(img, _pt(p, scale), t + 1, joint, -1, cv2.LINE_AA)


def draw_prediction(image: np.ndarray, prediction: dict[str, Any], info: DatasetInfo) -> np.ndarray:
    img, scale = _canvas(image)
    edges = info.extra.get("skeleton") or []
    for kp, box, score in zip(prediction["keypoints"], prediction["boxes"], prediction["scores"], strict=True):
        kp = np.asarray(kp)
        x1, y1 = _pt(box[:2], scale)
        cv2.putText(img, f"{float(score):.2f}", (x1 + 2, max(12, y1 + 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (255, 255, 255), 1, cv2.LINE_AA)
        skeleton(img, kp[:, :2], np.ones(len(kp), bool), edges, scale, LIMB, JOINT)
    return img


def draw_target(image: np.ndarray, target: dict[str, Any], info: DatasetInfo) -> np.ndarray:
    img, scale = _canvas(image)
    edges = info.extra.get("skeleton") or []
    for p in range(len(target["keypoints"])):
        skeleton(img, target["keypoints"][p], np.asarray(target["visible"][p]) > 0, edges, scale, GT, GT)
        hb = target["head_boxes"][p]
        if np.isfinite(hb).all():
            cv2.rectangle(img, _pt(hb[:2], scale), _pt(hb[2:], scale), GT, 1)
    return img
