"""Predictions made on the resized model input mapped back to the original image (torch): boxes, masks, label maps
and keypoints. Every image task resizes its input to a square ``S x S`` (aspect not kept) and maps back per axis.

Coordinates are 0-based pixel edges for boxes (``x * w / S``) and pixel centres for keypoints
(``(x + 0.5) * w / S - 0.5``), as torchvision's detection ``postprocess`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

PASTE_CHUNK = 16  # masks resized to the original image at a time (bounds memory on large images)


def boxes_to_original(boxes: torch.Tensor, input_size: tuple[int, int], orig_size: tuple[int, int]) -> torch.Tensor:
    """``(N, 4)`` XYXY boxes in input pixels -> float32 boxes in original pixels, clamped to the image."""
    (h, w), (ih, iw) = orig_size, input_size
    scale = torch.tensor([w / iw, h / ih, w / iw, h / ih], dtype=torch.float32)
    out = boxes.detach().float().cpu().reshape(-1, 4) * scale
    out[:, 0::2] = out[:, 0::2].clamp(0, w)
    out[:, 1::2] = out[:, 1::2].clamp(0, h)
    return out


def masks_to_rles(probs: torch.Tensor, orig_size: tuple[int, int], threshold: float = 0.5) -> list[dict[str, Any]]:
    """``(N, 1, h, w)`` mask probabilities in input pixels -> COCO compressed RLEs of the original image."""
    from pycocotools import mask as mask_utils

    out: list[dict[str, Any]] = []
    for start in range(0, len(probs), PASTE_CHUNK):
        chunk = probs[start : start + PASTE_CHUNK].float()
        if tuple(chunk.shape[-2:]) != tuple(orig_size):
            chunk = F.interpolate(chunk, size=tuple(orig_size), mode="bilinear", align_corners=False)
        binary = (chunk[:, 0] > threshold).cpu().numpy().astype(np.uint8)
        for rle in mask_utils.encode(np.asfortranarray(np.moveaxis(binary, 0, -1))):
            out.append({"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")})
    return out


def labels_to_original(logits: torch.Tensor, orig_size: tuple[int, int], dtype: Any = torch.uint8) -> np.ndarray:
    """``(C, h, w)`` class scores of one image -> the ``(H, W)`` label map of the original image (bilinear
    resize of the scores, then argmax)."""
    x = logits.unsqueeze(0).float()
    if tuple(x.shape[-2:]) != tuple(orig_size):
        x = F.interpolate(x, size=tuple(orig_size), mode="bilinear", align_corners=False)
    return x.argmax(1)[0].to(dtype).cpu().numpy()


def keypoints_to_original(keypoints: np.ndarray, input_size: tuple[int, int],
                          orig_size: tuple[int, int]) -> np.ndarray:
    """``(..., 2+)`` keypoints (x, y in input pixel centres) -> original pixel centres (other columns kept)."""
    (h, w), (ih, iw) = orig_size, input_size
    out = np.array(keypoints, dtype=np.float64, copy=True)
    out[..., 0] = (out[..., 0] + 0.5) * (w / iw) - 0.5
    out[..., 1] = (out[..., 1] + 0.5) * (h / ih) - 0.5
    return out
