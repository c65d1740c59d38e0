"""``--save-vis``: the image, its depth colour-mapped (near = bright, turbo) and its normals as RGB ((n + 1) / 2),
side by side at the image's size."""

from __future__ import annotations

import numpy as np


def colour_depth(depth: np.ndarray, max_depth: float | None = None) -> np.ndarray:
    """RGB uint8 of a depth map: inverse depth normalised over the valid pixels, turbo colour map; black = none."""
    import cv2

    d = np.asarray(depth, np.float64)
    valid = np.isfinite(d) & (d > 0)
    out = np.zeros((*d.shape, 3), np.uint8)
    if not valid.any():
        return out
    inv = np.zeros_like(d)
    inv[valid] = 1 / d[valid]
    lo = 1 / max_depth if max_depth else inv[valid].min()
    hi = inv[valid].max()
    scaled = np.clip((inv - lo) / max(hi - lo, 1e-12), 0, 1)
    mapped = cv2.applyColorMap(np.round(scaled * 255).astype(np.uint8), cv2.COLORMAP_TURBO)[..., ::-1]
    out[valid] = mapped[valid]
    return out


def colour_normals(normals: np.ndarray) -> np.ndarray:
    n = np.asarray(normals, np.float64)
    valid = np.linalg.norm(n, axis=-1) > 0.5
    out = np.round((np.clip(n, -1, 1) + 1) / 2 * 255).astype(np.uint8)
    out[~valid] = 0
    return out


def side_by_side(image: np.ndarray, depth: np.ndarray | None, normals: np.ndarray | None) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    panels = [np.asarray(image, np.uint8)]
    for x, fn in ((depth, colour_depth), (normals, colour_normals)):
        if x is not None:
            p = fn(x)
            if p.shape[:2] != (h, w):
                p = cv2.resize(p, (w, h), interpolation=cv2.INTER_NEAREST)
            panels.append(p)
    return np.ascontiguousarray(np.concatenate(panels, 1))
