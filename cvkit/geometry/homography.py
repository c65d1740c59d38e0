"""Homography estimation: the normalised direct linear transform inside RANSAC.

``dlt_homography`` (Hartley & Zisserman, Algorithm 4.2): each point set is translated so that its centroid is the
origin and scaled so that the mean distance to it is sqrt(2) (``normalize_points``); every correspondence
``x <-> x'`` gives two rows of the ``2n x 9`` system ``A h = 0``::

    [ 0   0   0  -x  -y  -1   y'x  y'y  y' ]
    [ x   y   1   0   0   0  -x'x -x'y -x' ]

whose least-squares solution with ``||h|| = 1`` is the right singular vector of the smallest singular value; the
result is denormalised (``H = T'^-1 H_n T``) and scaled so that ``H[2, 2] = 1``.

``ransac_homography``: minimal samples of 4 correspondences (samples with 3 collinear points are skipped), inliers
are correspondences whose forward reprojection error ``||x' - H x||`` is at most ``threshold`` pixels (OpenCV's
test), the iteration count adapts to the best inlier ratio found (``log(1 - confidence) / log(1 - w^4)``), and the
final homography is the DLT over all inliers of the best sample; the inliers are then recounted with it until they
stop changing (at most 10 times).
"""

from __future__ import annotations

import math

import numpy as np

from cvkit.errors import CvkitError


def normalize_points(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hartley normalisation: ``(normalised points (n, 2), T (3, 3))`` with centroid 0, mean distance sqrt(2)."""
    pts = np.asarray(pts, np.float64)
    centre = pts.mean(0)
    mean_dist = np.mean(np.linalg.norm(pts - centre, axis=1))
    if not np.isfinite(mean_dist) or mean_dist == 0:
        raise CvkitError("cannot normalise points that all coincide")
    s = math.sqrt(2.0) / mean_dist
    t = np.array([[s, 0.0, -s * centre[0]], [0.0, s, -s * centre[1]], [0.0, 0.0, 1.0]])
    return (pts - centre) * s, t


def dlt_homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The homography ``H`` (3 x 3, ``H[2, 2] = 1``) with ``dst ~ H src`` from n >= 4 correspondences."""
    src, dst = np.asarray(src, np.float64).reshape(-1, 2), np.asarray(dst, np.float64).reshape(-1, 2)
    if len(src) != len(dst) or len(src) < 4:
        raise CvkitError(f"a homography needs at least 4 correspondences, got {min(len(src), len(dst))}")
    a_pts, t_src = normalize_points(src)
    b_pts, t_dst = normalize_points(dst)
    n = len(src)
    x, y = a_pts[:, 0], a_pts[:, 1]
    u, v = b_pts[:, 0], b_pts[:, 1]
    zero, one = np.zeros(n), np.ones(n)
    a = np.empty((2 * n, 9))
    a[0::2] = np.stack([zero, zero, zero, -x, -y, -one, v * x, v * y, v], 1)
    a[1::2] = np.stack([x, y, one, zero, zero, zero, -u * x, -u * y, -u], 1)
    _, _, vt = np.linalg.svd(a)
    h_n = vt[-1].reshape(3, 3)
    h = np.linalg.inv(t_dst) @ h_n @ t_src
    if abs(h[2, 2]) < 1e-12:
        raise CvkitError("degenerate correspondences: the homography maps the origin to infinity")
    return h / h[2, 2]


def reprojection_errors(h: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``||dst - H src||`` per correspondence (inf where ``H`` sends a point to infinity)."""
    src = np.asarray(src, np.float64).reshape(-1, 2)
    p = np.c_[src, np.ones(len(src))] @ h.T
    with np.errstate(divide="ignore", invalid="ignore"):
        proj = p[:, :2] / p[:, 2:3]
        err = np.linalg.norm(proj - np.asarray(dst, np.float64).reshape(-1, 2), axis=1)
    return np.where(np.isfinite(err), err, np.inf)


def _collinear(p: np.ndarray, eps: float = 1e-9) -> bool:
    for i in range(4):
        q = np.delete(p, i, 0)
        area = (q[1, 0] - q[0, 0]) * (q[2, 1] - q[0, 1]) - (q[1, 1] - q[0, 1]) * (q[2, 0] - q[0, 0])
        if abs(area) <= eps * max(1.0, float(np.abs(q).max()) ** 2):
            return True
    return False


def ransac_homography(src: np.ndarray, dst: np.ndarray, threshold: float = 3.0, max_iters: int = 2000,
                      confidence: float = 0.995, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(H, inlier mask)`` robust to outliers (see the module docstring)."""
    src, dst = np.asarray(src, np.float64).reshape(-1, 2), np.asarray(dst, np.float64).reshape(-1, 2)
    n = len(src)
    if n < 4 or len(dst) != n:
        raise CvkitError(f"a homography needs at least 4 correspondences, got {min(n, len(dst))}")
    rng = np.random.default_rng(seed)
    best: np.ndarray | None = None
    best_count, needed, it = 0, max_iters, 0
    while it < min(needed, max_iters):
        it += 1
        idx = rng.choice(n, 4, replace=False)
        if _collinear(src[idx]) or _collinear(dst[idx]):
            continue
        try:
            h = dlt_homography(src[idx], dst[idx])
        except (CvkitError, np.linalg.LinAlgError):
            continue
        inliers = reprojection_errors(h, src, dst) <= threshold
        count = int(inliers.sum())
        if count > best_count:
            best, best_count = inliers, count
            w = count / n
            needed = max_iters if w <= 0 else (0 if w >= 1 else
                                               math.ceil(math.log(1 - confidence) / math.log(1 - w**4)))
    if best is None or best_count < 4:
        raise CvkitError(f"RANSAC found no homography with 4 or more inliers among {n} correspondences "
                         f"(threshold {threshold} px)")
    inliers = best
    for _ in range(10):
        h = dlt_homography(src[inliers], dst[inliers])
        again = reprojection_errors(h, src, dst) <= threshold
        if again.sum() < 4 or np.array_equal(again, inliers):
            break
        inliers = again
    return h, inliers
