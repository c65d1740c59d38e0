"""Feature matching between two images: ORB (binary descriptors, Hamming distance) or SIFT (L2), nearest two
neighbours by brute force, and Lowe's ratio test (a match is kept when its distance is below ``ratio`` times the
second-best one). Returns point arrays in pixel coordinates (x right, y down, origin at the top-left pixel's
centre, as OpenCV's keypoints)."""

from __future__ import annotations

import numpy as np

from cvkit.errors import UsageError

FEATURES = ("orb", "sift")


def match_features(img1: np.ndarray, img2: np.ndarray, features: str = "orb", ratio: float = 0.75,
                   max_features: int = 5000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(points1 (n, 2), points2 (n, 2), distances (n,))`` of the matches that pass the ratio test, best
    first. Images are RGB or grey uint8."""
    import cv2

    if features not in FEATURES:
        raise UsageError(f"--features {features!r}: expected one of {', '.join(FEATURES)}")
    grey = [cv2.cvtColor(im, cv2.COLOR_RGB2GRAY) if im.ndim == 3 else im for im in (img1, img2)]
    if features == "orb":
        detector, norm = cv2.ORB_create(nfeatures=max_features), cv2.NORM_HAMMING
    else:
        detector, norm = cv2.SIFT_create(nfeatures=max_features), cv2.NORM_L2
    (k1, d1), (k2, d2) = (detector.detectAndCompute(g, None) for g in grey)
    empty = np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0)
    if d1 is None or d2 is None or len(k1) < 2 or len(k2) < 2:
        return empty
    pairs = cv2.BFMatcher(norm).knnMatch(d1, d2, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance]
    good.sort(key=lambda m: m.distance)
    if not good:
        return empty
    p1 = np.array([k1[m.queryIdx].pt for m in good], np.float64)
    p2 = np.array([k2[m.trainIdx].pt for m in good], np.float64)
    return p1, p2, np.array([m.distance for m in good], np.float64)
