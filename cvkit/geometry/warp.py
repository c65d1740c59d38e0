"""Pictures of a homography with OpenCV: the source warped into the destination's frame, a stitched panorama and
the matches (inliers green, outliers red). Images are RGB uint8."""

from __future__ import annotations

import numpy as np

from cvkit.errors import CvkitError

MAX_CANVAS = 8192  # a panorama side longer than this means a degenerate homography, not a picture


def warp_into(src: np.ndarray, h: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``src`` warped by ``h`` onto a canvas of ``size = (width, height)`` (the destination image's frame)."""
    import cv2

    return cv2.warpPerspective(src, h, size, flags=cv2.INTER_LINEAR)


def stitch(src: np.ndarray, dst: np.ndarray, h: np.ndarray) -> np.ndarray:
    """A panorama: ``dst`` in place and ``src`` warped by ``h`` around it, on a canvas holding both."""
    import cv2

    hs, ws = src.shape[:2]
    hd, wd = dst.shape[:2]
    corners = np.array([[0, 0], [ws, 0], [ws, hs], [0, hs]], np.float64)
    p = np.c_[corners, np.ones(4)] @ h.T
    if np.any(p[:, 2] <= 1e-9):
        raise CvkitError("the homography sends part of the source image behind the camera; cannot stitch")
    warped = p[:, :2] / p[:, 2:]
    allx = np.r_[warped[:, 0], 0, wd]
    ally = np.r_[warped[:, 1], 0, hd]
    x0, y0 = np.floor(allx.min()), np.floor(ally.min())
    w, hgt = int(np.ceil(allx.max() - x0)), int(np.ceil(ally.max() - y0))
    if w > MAX_CANVAS or hgt > MAX_CANVAS:
        raise CvkitError(f"the stitched picture would be {w} x {hgt} px: the homography is nearly degenerate")
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64)
    canvas = cv2.warpPerspective(src, shift @ h, (w, hgt), flags=cv2.INTER_LINEAR)
    ox, oy = int(-x0), int(-y0)
    canvas[oy : oy + hd, ox : ox + wd] = dst
    return canvas


def draw_matches(img1: np.ndarray, img2: np.ndarray, p1: np.ndarray, p2: np.ndarray,
                 inliers: np.ndarray | None = None, max_lines: int = 300) -> np.ndarray:
    """Both images side by side with a line per match: green for inliers, red for outliers."""
    import cv2

    h = max(img1.shape[0], img2.shape[0])
    canvas = np.zeros((h, img1.shape[1] + img2.shape[1], 3), np.uint8)
    for k, im in enumerate((img1, img2)):
        rgb = im if im.ndim == 3 else np.repeat(im[..., None], 3, 2)
        x = 0 if k == 0 else img1.shape[1]
        canvas[: rgb.shape[0], x : x + rgb.shape[1]] = rgb
    for i in range(min(len(p1), max_lines)):
        ok = inliers is None or bool(inliers[i])
        colour = (40, 200, 40) if ok else (220, 40, 40)
        a = (round(p1[i, 0]), round(p1[i, 1]))
        b = (round(p2[i, 0]) + img1.shape[1], round(p2[i, 1]))
        cv2.line(canvas, a, b, colour, 1, cv2.LINE_AA)
        cv2.circle(canvas, a, 2, colour, -1)
        cv2.circle(canvas, b, 2, colour, -1)
    return canvas
