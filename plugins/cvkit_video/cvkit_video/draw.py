"""Drawing: captions on a frame, and the contact sheet of a video's sampled frames (and flow) with its prediction."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from cvkit.task import DatasetInfo
from cvkit.vision.draw import caption

__all__ = ["caption", "contact_sheet", "flow_image", "prediction_lines", "video_contact_sheet"]


def prediction_lines(prediction: dict[str, Any], info: DatasetInfo, n: int = 3) -> list[str]:
    return [f"{info.classes[i]} {s:.2f}" for i, s in prediction.get("topk", [])[:n]]


def flow_image(flow: np.ndarray) -> np.ndarray:
    """Flow ``(H, W, 2)`` as colour: hue = direction, brightness = speed (the usual HSV coding)."""
    mag, ang = cv2.cartToPolar(flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32))
    hsv = np.zeros((*flow.shape[:2], 3), np.uint8)
    hsv[..., 0] = (ang * 90 / np.pi).astype(np.uint8)
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(mag * 64, 0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def contact_sheet(frames: list[np.ndarray], prediction: dict[str, Any], info: DatasetInfo,
                  flows: list[np.ndarray] | None = None, cell: int = 96) -> np.ndarray:
    """Frames in a row (flow images in a second row when given) under a caption with the top classes."""
    def row(images: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([cv2.resize(im, (cell, cell), interpolation=cv2.INTER_AREA) for im in images], 1)

    rows = [row(frames)]
    if flows:
        rows.append(row([flow_image(f) for f in flows] + [np.zeros_like(frames[0])] * (len(frames) - len(flows))))
    sheet = np.concatenate(rows, 0)
    lines = prediction_lines(prediction, info)
    band = np.zeros((18 * len(lines) + 6, sheet.shape[1], 3), np.uint8)
    for n, text in enumerate(lines):
        cv2.putText(band, text, (4, 16 + 18 * n), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([band, sheet], 0)


def video_contact_sheet(path: str, prediction: dict[str, Any], info: DatasetInfo, count: int = 8,
                        with_flow: bool = False) -> np.ndarray:
    """``count`` frames spread over the video at ``path`` (and their flow to the next frame) with the prediction."""
    from cvkit_video import flow as flowlib
    from cvkit_video.decode import probe, read_frames

    meta, _ = probe(path, keep_frames=0)
    picks = sorted({int(round(x)) for x in np.linspace(0, meta.frames - 1, count)})
    wanted = picks + ([min(p + 1, meta.frames - 1) for p in picks] if with_flow else [])
    got = read_frames(path, wanted)
    frames = [got[p] for p in picks]
    flows = None
    if with_flow:
        flows = [flowlib.flows([got[p], got[min(p + 1, meta.frames - 1)]], 1)[0] for p in picks]
    return contact_sheet(frames, prediction, info, flows)
