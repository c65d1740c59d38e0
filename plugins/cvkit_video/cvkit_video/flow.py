"""Dense optical flow between frames (OpenCV DIS or Farneback), with the mean displacement subtracted.

As in the two-stream network (Simonyan & Zisserman, 2014), each flow field has its mean vector subtracted, which
removes a global (camera) translation. Values are displacements in pixels at the model's input resolution.

Farneback is the default: on small frames with flat-coloured regions, DIS (faster) spreads an object's motion
over the textureless background around it, which the mean subtraction then cancels.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from cvkit.errors import UsageError

METHODS = ("farneback", "dis")
_dis: cv2.DISOpticalFlow | None = None  # built once per process (OpenCV objects do not pickle)


def _gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def pair_flow(a: np.ndarray, b: np.ndarray, method: str = "farneback") -> np.ndarray:
    """Flow ``(H, W, 2)`` float32 from grey frame ``a`` to grey frame ``b``."""
    global _dis
    if method == "dis":
        if _dis is None:
            _dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        return _dis.calc(a, b, None)
    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(a, b, None, pyr_scale=0.5, levels=3, winsize=9, iterations=3,
                                            poly_n=5, poly_sigma=1.1, flags=0)
    raise UsageError(f"--model-arg flow={method}: expected one of {', '.join(METHODS)}")


def flows(frames: Sequence[np.ndarray], step: int = 1, method: str = "farneback", backward: bool = False
          ) -> np.ndarray:
    """Mean-subtracted flow from frame ``j`` to frame ``j + step`` for every ``j``: ``(len - step, H, W, 2)``;
    with ``backward``, from frame ``j + step`` to frame ``j`` (what a clip played backwards sees).

    Frames are RGB uint8 arrays of one size; fewer than ``step + 1`` frames give an empty array."""
    grey = [_gray(f) for f in frames]
    h, w = grey[0].shape if grey else (0, 0)
    out = np.zeros((max(0, len(grey) - step), h, w, 2), np.float32)
    for j in range(len(out)):
        a, b = (grey[j + step], grey[j]) if backward else (grey[j], grey[j + step])
        f = pair_flow(a, b, method)
        out[j] = f - f.reshape(-1, 2).mean(0)
    return out
