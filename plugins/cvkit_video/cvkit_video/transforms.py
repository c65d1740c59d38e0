"""Frame and clip transforms: resize, crop, mirror (with label swaps), and conversion to normalised tensors.

Frames are resized once per video so that the shorter side is ``img_size`` (and kept so in the frame cache);
clips are then cropped square: a random crop in training, the centre crop in evaluation. ``--model-arg
augment=``: ``auto`` (default) mirrors training clips half of the time and, where the dataset declares how
labels change under time reversal (``symmetries.json``, written by ``cvkit data make motion``), also plays half
of them backwards with the labels swapped to their partner classes; ``flip`` only mirrors; ``none`` does neither.
Mirroring a dataset whose ``symmetries.json`` lists left/right label pairs swaps those labels too.
"""

from __future__ import annotations

import random

import cv2
import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF

from cvkit.errors import UsageError

AUGMENT = ("auto", "flip", "none")


def resize_short(frame: np.ndarray, size: int) -> np.ndarray:
    """Scale so that the shorter side is ``size`` (area interpolation when shrinking)."""
    h, w = frame.shape[:2]
    if min(h, w) == size:
        return frame
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(frame, (nw, nh), interpolation=interp)


def crop_origin(h: int, w: int, size: int, train: bool) -> tuple[int, int]:
    """Top-left corner of the square crop: random in training, centred otherwise."""
    if train:
        return random.randint(0, h - size), random.randint(0, w - size)
    return (h - size) // 2, (w - size) // 2


def check_augment(name: str) -> str:
    if name not in AUGMENT:
        raise UsageError(f"--model-arg augment={name}: expected one of {', '.join(AUGMENT)}")
    return name


def swap_labels(labels: list[int], pairs: list[list[int]]) -> list[int]:
    """Map every label through the symmetric pairs ``[[a, b], ...]`` (a <-> b); others are unchanged."""
    table = {}
    for a, b in pairs:
        table[int(a)], table[int(b)] = int(b), int(a)
    return sorted({table.get(lab, lab) for lab in labels})


def rgb_uint8(frames: np.ndarray) -> torch.Tensor:
    """``(T, H, W, 3)`` uint8 -> contiguous ``(3, T, H, W)`` uint8 (one copy, a quarter of a float clip's bytes)."""
    return torch.from_numpy(np.ascontiguousarray(frames.transpose(3, 0, 1, 2)))


def normalize_clips(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """uint8 clips ``(..., 3, T, H, W)`` -> float, ``(x / 255 - mean) / std`` per channel (a batch at once: the
    same arithmetic as clip by clip, one pass instead of one per clip)."""
    x = x.float().div_(255.0)
    TF.normalize(x.transpose(-4, -3), list(mean), list(std), inplace=True)  # through a (..., T, 3, H, W) view
    return x


def rgb_tensor(frames: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """``(T, H, W, 3)`` uint8 -> normalised float ``(3, T, H, W)``."""
    return normalize_clips(rgb_uint8(frames), mean, std)


def flow_tensor(flow: np.ndarray) -> torch.Tensor:
    """``(T, H, W, 2)`` displacements in pixels -> float ``(2, T, H, W)``."""
    return torch.from_numpy(np.ascontiguousarray(flow, dtype=np.float32)).permute(3, 0, 1, 2)


def mirror(frames: np.ndarray, flow: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Horizontal flip of frames ``(T, H, W, 3)`` and flow ``(T, H, W, 2)`` (whose x component changes sign)."""
    frames = frames[:, :, ::-1]
    if flow is not None:
        flow = flow[:, :, ::-1].copy()
        flow[..., 0] *= -1
    return frames, flow
