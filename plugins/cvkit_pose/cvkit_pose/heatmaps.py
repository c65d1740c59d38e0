"""Heatmap decoding: argmax with the quarter-pixel shift toward the higher neighbour, or DARK; flip back."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch

DECODERS = ("shift", "argmax", "dark")


def flip_back(heatmaps: torch.Tensor, flip_index: list[int]) -> torch.Tensor:
    """Heatmaps of a mirrored input, mirrored back: columns reversed and left/right channels swapped."""
    return heatmaps.flip(-1)[:, flip_index]


def argmax(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer peak ``(N, K, 2)`` as ``(x, y)`` and the peak values ``(N, K)``."""
    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, h * w)
    idx = flat.argmax(-1)
    vals = np.take_along_axis(flat, idx[..., None], -1)[..., 0]
    coords = np.stack([idx % w, idx // w], -1).astype(np.float64)
    return coords, vals


def quarter_shift(heatmaps: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Move each peak a quarter cell toward its higher neighbour, per axis (Newell et al.; HRNet, SimpleBaseline).

    Peaks on the border, where a neighbour is missing, stay put on that axis."""
    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, h * w)
    x = coords[..., 0].astype(np.int64)
    y = coords[..., 1].astype(np.int64)

    def at(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        idx = np.clip(yy, 0, h - 1) * w + np.clip(xx, 0, w - 1)
        return np.take_along_axis(flat, idx[..., None], -1)[..., 0]

    out = coords.copy()
    out[..., 0] += np.where((x > 0) & (x < w - 1), 0.25 * np.sign(at(y, x + 1) - at(y, x - 1)), 0.0)
    out[..., 1] += np.where((y > 0) & (y < h - 1), 0.25 * np.sign(at(y + 1, x) - at(y - 1, x)), 0.0)
    return out


def dark(heatmaps: np.ndarray, coords: np.ndarray, sigma: float) -> np.ndarray:
    """DARK (Zhang et al., CVPR 2020): blur each map (keeping its peak value), take logs and move the peak by one
    Newton step ``-H^-1 g`` of the second-order Taylor expansion at the integer maximum."""
    n, k, h, w = heatmaps.shape
    ksize = 2 * int(3 * sigma) + 1
    out = coords.copy()
    for i in range(n):
        for j in range(k):
            hm = heatmaps[i, j].astype(np.float64)
            peak = hm.max()
            blurred = cv2.GaussianBlur(hm, (ksize, ksize), 0)
            if blurred.max() > 0:
                blurred *= peak / blurred.max()
            lg = np.log(np.maximum(blurred, 1e-10))
            x, y = int(coords[i, j, 0]), int(coords[i, j, 1])
            if not (1 <= x < w - 1 and 1 <= y < h - 1):
                continue
            dx = 0.5 * (lg[y, x + 1] - lg[y, x - 1])
            dy = 0.5 * (lg[y + 1, x] - lg[y - 1, x])
            dxx = lg[y, x + 1] - 2 * lg[y, x] + lg[y, x - 1]
            dyy = lg[y + 1, x] - 2 * lg[y, x] + lg[y - 1, x]
            dxy = 0.25 * (lg[y + 1, x + 1] - lg[y + 1, x - 1] - lg[y - 1, x + 1] + lg[y - 1, x - 1])
            det = dxx * dyy - dxy**2
            if det == 0:
                continue
            step = -np.array([dyy * dx - dxy * dy, dxx * dy - dxy * dx]) / det
            if np.all(np.abs(step) <= 1):  # a step beyond the neighbouring cells means a bad fit: keep the peak
                out[i, j] += step
    return out


def decode(heatmaps: np.ndarray, method: str = "shift", sigma: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Peak positions ``(N, K, 2)`` in heatmap cells and scores ``(N, K)`` (the peak value)."""
    coords, vals = argmax(heatmaps)
    if method == "shift":
        coords = quarter_shift(heatmaps, coords)
    elif method == "dark":
        coords = dark(heatmaps, coords, sigma)
    elif method != "argmax":
        raise ValueError(f"unknown decoder {method!r} (choose from {', '.join(DECODERS)})")
    return coords, vals


def options(args: dict[str, Any]) -> dict[str, Any]:
    """Decoding options from ``--model-arg``: ``decode`` (shift, argmax, dark), ``flip_test`` (true)."""
    from cvkit.errors import UsageError

    method = str(args.get("decode", "shift"))
    if method not in DECODERS:
        raise UsageError(f"--model-arg decode={method}: choose from {', '.join(DECODERS)}")
    return {"decode": method, "flip_test": bool(args.get("flip_test", True))}
