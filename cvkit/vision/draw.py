"""Boxes and labels drawn with OpenCV on RGB uint8 images (prediction galleries, dataset previews) for every box
task."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from cvkit.vision.detections import as_numpy, ignored


def colour(index: int) -> tuple[int, int, int]:
    """A stable, well-separated RGB colour per class index (golden-ratio hue steps)."""
    hue = int((index * 0.618033988749895 % 1.0) * 179)
    bgr = cv2.cvtColor(np.uint8([[[hue, 200, 255]]]), cv2.COLOR_HSV2RGB)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def draw_boxes(image: np.ndarray, boxes: np.ndarray, labels: Sequence[int], names: Sequence[str],
               scores: Sequence[float] | None = None, dashed: Sequence[bool] | None = None) -> np.ndarray:
    out = np.ascontiguousarray(image.copy())
    h, w = out.shape[:2]
    thick = max(1, round(min(h, w) / 300))
    scale = max(0.35, min(h, w) / 800)
    for i, (b, k) in enumerate(zip(boxes, labels, strict=True)):
        c = colour(int(k))
        x1, y1, x2, y2 = (round(float(v)) for v in b)
        x2, y2 = max(x1, x2 - 1), max(y1, y2 - 1)  # pixel-edge box -> last pixel
        if dashed is not None and dashed[i]:
            for x in range(x1, x2, 6):
                cv2.line(out, (x, y1), (min(x + 3, x2), y1), c, thick)
                cv2.line(out, (x, y2), (min(x + 3, x2), y2), c, thick)
            for y in range(y1, y2, 6):
                cv2.line(out, (x1, y), (x1, min(y + 3, y2)), c, thick)
                cv2.line(out, (x2, y), (x2, min(y + 3, y2)), c, thick)
        else:
            cv2.rectangle(out, (x1, y1), (x2, y2), c, thick)
        name = names[int(k)] if 0 <= int(k) < len(names) else str(int(k))
        text = name if scores is None else f"{name} {float(scores[i]):.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        ty = y1 - 2 if y1 - th - base - 2 >= 0 else min(h - 1, y1 + th + 2)
        cv2.rectangle(out, (x1, ty - th - base + 1), (x1 + tw, ty + 1), c, -1)
        cv2.putText(out, text, (x1, ty - base + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def caption(image: np.ndarray, lines: list[str]) -> np.ndarray:
    """Upscale small images so that text stays legible, then write ``lines`` on a dark band at the top."""
    h, w = image.shape[:2]
    scale = max(1, 192 // max(h, w))
    img = cv2.resize(image, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST) if scale > 1 else image.copy()
    band = 18 * len(lines) + 6
    img[:band] = (img[:band] * 0.35).astype(np.uint8)
    for n, text in enumerate(lines):
        cv2.putText(img, text, (4, 16 + 18 * n), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def draw_detections(image: np.ndarray, prediction: Any, names: Sequence[str], conf: float | None = None
                    ) -> np.ndarray:
    """Labelled boxes of a prediction (those scoring at least ``conf`` when given)."""
    p = as_numpy(prediction)
    keep = np.ones(len(p["scores"]), bool) if conf is None else p["scores"] >= conf
    return draw_boxes(image, p["boxes"][keep], p["labels"][keep], names, scores=p["scores"][keep])


def draw_box_target(image: np.ndarray, target: dict[str, Any], names: Sequence[str]) -> np.ndarray:
    """Ground-truth boxes of a raw target; difficult and crowd boxes are dashed."""
    return draw_boxes(image, np.asarray(target["boxes"]), target["labels"], names, dashed=ignored(target))
