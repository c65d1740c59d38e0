"""Drawing a caption under its image and, for attention models, the attention of each word over the image."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

CELL = 96


def _text_band(width: int, lines: list[str]) -> np.ndarray:
    band = np.full((18 * len(lines) + 8, width, 3), 255, np.uint8)
    for n, text in enumerate(lines):
        cv2.putText(band, text, (4, 16 + 18 * n), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return band


def _wrap(text: str, width: int) -> list[str]:
    lines, cur = [], ""
    for word in text.split():
        if cur and cv2.getTextSize(cur + " " + word, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)[0][0] > width - 8:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}".strip()
    return [*lines, cur] if cur else lines or [""]


def overlay(image: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``weights`` (h, w) stretched over ``image`` as a heat map (bilinear, like the course's figure)."""
    h, w = image.shape[:2]
    m = cv2.resize(weights.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    m = (m - m.min()) / max(float(m.max() - m.min()), 1e-8)
    heat = cv2.applyColorMap((m * 255).astype(np.uint8), cv2.COLORMAP_JET)[:, :, ::-1]
    return (0.5 * image + 0.5 * heat).astype(np.uint8)


def draw_caption(image: np.ndarray, pred: dict[str, Any]) -> np.ndarray:
    """The image (scaled to about 192 px) with the caption below; with ``pred["attention"]`` ((words, h, w)),
    a row per word: the image with that word's attention laid over it and the word beneath."""
    h, w = image.shape[:2]
    scale = 192 / max(h, w)
    big = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                     interpolation=cv2.INTER_NEAREST if scale > 1 else cv2.INTER_AREA)
    top = np.vstack([big, _text_band(big.shape[1], _wrap(pred.get("caption", ""), big.shape[1]))])
    att = pred.get("attention")
    if att is None or len(att) == 0:
        return top
    small = cv2.resize(image, (CELL, CELL), interpolation=cv2.INTER_NEAREST if max(h, w) < CELL else cv2.INTER_AREA)
    tiles = []
    for word, a in zip(pred["tokens"], np.asarray(att), strict=False):
        tiles.append(np.vstack([overlay(small, a), _text_band(CELL, [word])]))
    per_row = max(1, top.shape[1] // CELL) if len(tiles) > 4 else len(tiles)
    per_row = max(per_row, 4)
    rows = []
    for r in range(0, len(tiles), per_row):
        row = tiles[r : r + per_row]
        row += [np.full_like(tiles[0], 255)] * (per_row - len(row))
        rows.append(np.hstack(row))
    grid = np.vstack(rows)
    width = max(top.shape[1], grid.shape[1])
    pad = lambda a: np.hstack([a, np.full((a.shape[0], width - a.shape[1], 3), 255, np.uint8)])  # noqa: E731
    return np.vstack([pad(top), pad(grid)])
