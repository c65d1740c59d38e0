"""Helpers shared by the HOG detectors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def to_uint8(image: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """A normalised ``(3, H, W)`` tensor back to an RGB uint8 ``(H, W, 3)`` array for OpenCV."""
    m = torch.tensor(mean, dtype=image.dtype, device=image.device)[:, None, None]
    s = torch.tensor(std, dtype=image.dtype, device=image.device)[:, None, None]
    x = ((image * s + m) * 255.0).round().clamp(0, 255).to(torch.uint8)
    return np.ascontiguousarray(x.permute(1, 2, 0).cpu().numpy())
