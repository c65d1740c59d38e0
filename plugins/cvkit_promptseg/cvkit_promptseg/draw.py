"""Masks, points and boxes drawn with OpenCV on RGB uint8 images (``--save-vis``, galleries)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from cvkit.vision.masks import decode_rle
from cvkit_promptseg.datasets.target import object_masks

ALPHA = 0.5
FG, BG = (40, 220, 40), (230, 40, 40)


def colour(index: int) -> tuple[int, int, int]:
    """A stable, well-separated RGB colour per index (golden-ratio hue steps)."""
    hue = int((index * 0.618033988749895 % 1.0) * 179)
    rgb = cv2.cvtColor(np.uint8([[[hue, 200, 255]]]), cv2.COLOR_HSV2RGB)[0, 0]
    return int(rgb[0]), int(rgb[1]), int(rgb[2])


def overlay(image: np.ndarray, mask: np.ndarray, c: tuple[int, int, int]) -> np.ndarray:
    out = image.copy()
    out[mask] = (out[mask] * (1 - ALPHA) + np.array(c) * ALPHA).astype(np.uint8)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, c, max(1, round(min(image.shape[:2]) / 300)))
    return out


def marks(out: np.ndarray, points: list[list[float]], box: list[float] | None, c: tuple[int, int, int]) -> None:
    r = max(3, round(min(out.shape[:2]) / 80))
    for x, y, lab in points:
        centre = (round(x), round(y))
        cv2.circle(out, centre, r, FG if lab == 1 else BG, -1, cv2.LINE_AA)
        cv2.circle(out, centre, r, (255, 255, 255), 1, cv2.LINE_AA)
    if box is not None:
        x1, y1, x2, y2 = (round(v) for v in box)
        cv2.rectangle(out, (x1, y1), (max(x1, x2 - 1), max(y1, y2 - 1)), c, max(1, round(min(out.shape[:2]) / 200)))


def draw_prediction(image: np.ndarray, pred: dict[str, Any]) -> np.ndarray:
    """Prompts' chosen masks (all three, side by side, with ``--multimask``), their points (green foreground,
    red background) and boxes; or the "everything" masks; or an evaluation's final click masks."""
    out = np.ascontiguousarray(image.copy())
    if "everything" in pred:
        for k, m in enumerate(pred["everything"]):
            out = overlay(out, decode_rle(m["rle"]), colour(k))
        return out
    if "objects" in pred:
        for k, o in enumerate(pred["objects"]):
            out = overlay(out, decode_rle(o["masks"][-1]), colour(k))
            marks(out, o["clicks"], None, colour(k))
        return out
    prompts = pred.get("prompts") or []
    if any(len(p["masks"]) > 1 for p in prompts):  # multimask: one panel per output
        panels = []
        for t in range(3):
            panel = np.ascontiguousarray(image.copy())
            for k, p in enumerate(prompts):
                m = p["masks"][min(t, len(p["masks"]) - 1)]
                panel = overlay(panel, decode_rle(m["rle"]), colour(k))
                marks(panel, p["points"], p["box"], colour(k))
                cv2.putText(panel, f"{m['score']:.2f}", (4, 14 + 14 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour(k), 1,
                            cv2.LINE_AA)
            panels.append(panel)
        return np.concatenate(panels, 1)
    for k, p in enumerate(prompts):
        out = overlay(out, decode_rle(p["masks"][p["best"]]["rle"]), colour(k))
        marks(out, p["points"], p["box"], colour(k))
    return out


def draw_target(image: np.ndarray, target: dict[str, Any]) -> np.ndarray:
    out = np.ascontiguousarray(image.copy())
    masks, _ = object_masks(target)
    for k, m in enumerate(masks):
        out = overlay(out, m, colour(k))
    return out
