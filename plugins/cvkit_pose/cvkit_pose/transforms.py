"""Person crops by affine warp, training augmentation, and Gaussian heatmap targets.

Conventions: points are 0-based pixel-centre coordinates (see :mod:`cvkit_pose.target`). A crop ``[cx, cy, side]``
maps the square of side ``side`` centred on ``(cx, cy)`` onto an ``S x S`` input: ``x' = k R (x - c) + (S - 1) / 2``
with ``k = S / side`` (pixel edges map onto pixel edges, so no half-pixel drift). Heatmap cell ``u`` of a stride
``t`` map covers input pixels ``t u .. t u + t - 1`` and its centre is input point ``t u + (t - 1) / 2``; targets
are Gaussians centred on the exact sub-pixel joint position (unbiased encoding), so mirroring a heatmap array is
exactly mirroring the input and flip testing needs no one-pixel shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF


@dataclass(frozen=True)
class Augment:
    """HRNet's MPII recipe: scale x N(1, 0.25) clipped to [0.75, 1.25]; rotation N(0, 30 deg) clipped to +-60 deg,
    applied to 60 % of samples; horizontal flip (left/right joints swapped) half the time."""

    scale: float = 0.25
    rotate: float = 30.0
    rotate_prob: float = 0.6
    flip: bool = True

    def draw(self, rng: np.random.Generator) -> tuple[float, float, bool]:
        s = float(np.clip(rng.normal() * self.scale + 1, 1 - self.scale, 1 + self.scale))
        r = float(np.clip(rng.normal() * self.rotate, -2 * self.rotate, 2 * self.rotate)) \
            if rng.random() < self.rotate_prob else 0.0
        return s, r, bool(self.flip and rng.random() < 0.5)


def crop_matrix(crop: Any, out: int, rotate: float = 0.0) -> np.ndarray:
    """The 2x3 affine taking image points to crop-input points (see the module docstring)."""
    cx, cy, side = (float(v) for v in crop)
    k = out / max(side, 1e-6)
    a = math.radians(rotate)
    cos, sin = k * math.cos(a), k * math.sin(a)
    mid = (out - 1) / 2
    return np.array([[cos, sin, mid - cos * cx - sin * cy],
                     [-sin, cos, mid + sin * cx - cos * cy]], np.float64)


def whole_image_crop(height: int, width: int) -> np.ndarray:
    """The crop that shows a whole image (centred, side = its longer edge): predict's crop without person boxes."""
    return np.array([(width - 1) / 2, (height - 1) / 2, float(max(height, width))])


def warp(image: np.ndarray, matrix: np.ndarray, out: int) -> np.ndarray:
    """Bilinear warp of an HWC uint8 image into an ``out x out`` crop (black outside the image)."""
    return cv2.warpAffine(image, matrix, (out, out), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(0, 0, 0))


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points ``(..., 2)`` through a 2x3 affine."""
    pts = np.asarray(points, np.float64)
    return pts @ matrix[:, :2].T + matrix[:, 2]


def invert(matrix: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(matrix.astype(np.float64))


def to_tensor(image: np.ndarray, mean: Any, std: Any) -> torch.Tensor:
    """HWC uint8 -> normalised CHW float32."""
    t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)
    return TF.normalize(t, list(mean), list(std), inplace=True)


def heatmap_size(img_size: int, stride: int) -> int:
    return max(1, img_size // stride)


def input_to_heatmap(points: np.ndarray, stride: int) -> np.ndarray:
    return (np.asarray(points, np.float64) - (stride - 1) / 2) / stride


def heatmap_to_input(points: np.ndarray, stride: int) -> np.ndarray:
    return np.asarray(points, np.float64) * stride + (stride - 1) / 2


def gaussian_targets(points: np.ndarray, weights: np.ndarray, size: int, sigma: float) -> tuple[np.ndarray,
                                                                                                 np.ndarray]:
    """Unnormalised Gaussians (peak 1) at ``points`` (heatmap coordinates) on ``size x size`` maps.

    A joint whose 3-sigma disc lies wholly outside the map gets weight 0 (as HRNet); weights start as the
    labelled flags."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    w = np.asarray(weights, np.float32).copy()
    x, y = pts[:, 0], pts[:, 1]
    outside = (x + 3 * sigma < 0) | (y + 3 * sigma < 0) | (x - 3 * sigma > size - 1) | (y - 3 * sigma > size - 1)
    w[(w > 0) & outside] = 0.0
    grid = np.arange(size, dtype=np.float32)
    gx = np.exp(-((grid[None, :] - x[:, None]) ** 2) / (2 * sigma**2))
    gy = np.exp(-((grid[None, :] - y[:, None]) ** 2) / (2 * sigma**2))
    maps = (gy[:, :, None] * gx[:, None, :]).astype(np.float32)
    maps[w <= 0] = 0.0
    return maps, w
