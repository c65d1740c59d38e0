"""Prompts simulated from ground-truth masks, as in the SAM paper's interactive protocol (and RITM's clicks).

- The first click of an evaluation is the object's interior point farthest from its border (distance transform,
  the image edge counting as border; the first maximum in row-major order, so it is deterministic).
- Each further click goes to the largest error region: the false-negative and false-positive regions are
  distance-transformed the same way and the click lands at the farthest interior point of the one reaching
  deeper, as a foreground click (missed pixels) or a background click (extra pixels). Pixels marked as ignored
  (VOC's void border) are neither.
- Training samples its first prompt at random: a point uniformly inside the mask, or the box with each side
  moved by noise (10% of the side, at most ``BOX_NOISE_MAX`` px), and its correction clicks uniformly inside the
  larger error region or, half of the time, at the evaluation's deterministic spot.

Point labels: 1 foreground, 0 background, 2 / 3 box corners (top-left, bottom-right), -1 padding.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

FOREGROUND, BACKGROUND, BOX_TL, BOX_BR, PAD = 1, 0, 2, 3, -1
BOX_NOISE = 0.1
BOX_NOISE_MAX = 8.0
EVAL_CLICKS = 3  # clicks simulated per object by evaluation: mIoU after 1, 2 and 3 clicks


class Click(NamedTuple):
    x: int
    y: int
    label: int  # FOREGROUND or BACKGROUND
    depth: float  # distance from the region's border (px)


def border_distance(region: np.ndarray) -> np.ndarray:
    """Distance of every pixel of ``region`` to the nearest pixel outside it, the image edge counting as outside."""
    padded = np.pad(region.astype(np.uint8), 1)
    return cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]


def _deepest(region: np.ndarray) -> tuple[int, int, float]:
    if not region.any():
        return -1, -1, 0.0
    dist = border_distance(region)
    flat = int(np.argmax(dist))
    y, x = divmod(flat, region.shape[1])
    return x, y, float(dist[y, x])


def first_click(mask: np.ndarray) -> Click | None:
    """The interior point of ``mask`` farthest from its border; None for an empty mask."""
    x, y, d = _deepest(mask.astype(bool))
    return None if d <= 0 else Click(x, y, FOREGROUND, d)


def error_regions(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(false negatives, false positives) of a boolean prediction, ignored pixels left out of both."""
    pred, gt = pred.astype(bool), gt.astype(bool)
    fn, fp = gt & ~pred, pred & ~gt
    if ignore is not None:
        fn &= ~ignore
        fp &= ~ignore
    return fn, fp


def next_click(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None) -> Click | None:
    """The correction click for prediction ``pred`` of object ``gt``; None when there is no error left."""
    fn, fp = error_regions(pred, gt, ignore)
    fx, fy, fd = _deepest(fn)
    px, py, pd = _deepest(fp)
    if fd <= 0 and pd <= 0:
        return None
    return Click(fx, fy, FOREGROUND, fd) if fd >= pd else Click(px, py, BACKGROUND, pd)


def random_point(mask: np.ndarray, rng: np.random.Generator) -> tuple[int, int] | None:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    i = int(rng.integers(len(xs)))
    return int(xs[i]), int(ys[i])


def random_correction(pred: np.ndarray, gt: np.ndarray, rng: np.random.Generator, at_spot: float = 0.5
                      ) -> Click | None:
    """A training correction click: the evaluation's spot with probability ``at_spot``, else uniform in the
    larger error."""
    if rng.random() < at_spot:
        return next_click(pred, gt)
    fn, fp = error_regions(pred, gt)
    nfn, nfp = int(fn.sum()), int(fp.sum())
    if nfn == 0 and nfp == 0:
        return None
    region, label = (fn, FOREGROUND) if nfn >= nfp else (fp, BACKGROUND)
    xy = random_point(region, rng)
    return None if xy is None else Click(xy[0], xy[1], label, 0.0)


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """The tight box of a mask in pixel edges ``(x1, y1, x2, y2)``."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def jitter_box(box: tuple[float, float, float, float], size: tuple[int, int], rng: np.random.Generator
               ) -> tuple[float, float, float, float]:
    """Each side moved by normal noise of ``BOX_NOISE`` times the box side (at most ``BOX_NOISE_MAX`` px)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    noise = rng.normal(0, 1, 4) * np.array([w, h, w, h]) * BOX_NOISE
    noise = np.clip(noise, -BOX_NOISE_MAX, BOX_NOISE_MAX)
    hh, ww = size
    nx1, ny1 = np.clip(x1 + noise[0], 0, ww - 1), np.clip(y1 + noise[1], 0, hh - 1)
    nx2, ny2 = np.clip(x2 + noise[2], nx1 + 1, ww), np.clip(y2 + noise[3], ny1 + 1, hh)
    return float(nx1), float(ny1), float(nx2), float(ny2)


def box_points(box: tuple[float, float, float, float]) -> list[tuple[float, float, int]]:
    """A box (pixel edges) as its two corner points, as SAM's predictor passes it."""
    x1, y1, x2, y2 = box
    return [(x1, y1, BOX_TL), (x2, y2, BOX_BR)]


def pack(prompts: list[list[tuple[float, float, int]]]) -> tuple[np.ndarray, np.ndarray]:
    """Point lists (``[(x, y, label), ...]`` per prompt) -> ``(P, N, 2)`` coordinates and ``(P, N)`` labels,
    padded with label -1."""
    n = max((len(p) for p in prompts), default=0) or 1
    coords = np.zeros((len(prompts), n, 2), np.float32)
    labels = np.full((len(prompts), n), PAD, np.float32)
    for i, pts in enumerate(prompts):
        for j, (x, y, lab) in enumerate(pts):
            coords[i, j] = (x, y)
            labels[i, j] = lab
    return coords, labels
