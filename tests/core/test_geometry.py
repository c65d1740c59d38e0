"""Homography by normalised DLT inside RANSAC, checked against cv2.findHomography on the same correspondences."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from cvkit.errors import BadInput, CvkitError
from cvkit.geometry import dlt_homography, normalize_points, ransac_homography, reprojection_errors
from cvkit.geometry.command import run_homography
from tests.conftest import cvkit

H_TRUE = np.array([[1.08, 0.06, 18.0], [-0.04, 0.97, 9.0], [2e-4, -1e-4, 1.0]])


def _project(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.c_[pts, np.ones(len(pts))] @ h.T
    return p[:, :2] / p[:, 2:]


def _unit(h: np.ndarray) -> np.ndarray:
    h = h / np.linalg.norm(h)
    return h * np.sign(h[2, 2])


def test_hartley_normalisation() -> None:
    pts = np.random.default_rng(0).uniform(50, 300, (20, 2))
    n, t = normalize_points(pts)
    assert np.allclose(n.mean(0), 0) and np.mean(np.linalg.norm(n, axis=1)) == pytest.approx(math.sqrt(2))
    assert np.allclose(_project(t, pts), n)


@pytest.mark.parametrize("n", [4, 5, 40])
def test_dlt_equals_opencv_up_to_scale_on_noise_free_points(n: int) -> None:
    src = np.random.default_rng(n).uniform(0, 400, (n, 2))
    dst = _project(H_TRUE, src)
    ours = dlt_homography(src, dst)
    theirs, _ = cv2.findHomography(src, dst, 0)
    # OpenCV solves the normal equations (A^T A), which squares the condition number: its own error against the
    # true H is ~1e-6, ours (SVD of A) ~1e-12, so the two agree to OpenCV's accuracy
    assert np.abs(_unit(ours) - _unit(theirs)).max() < 1e-5
    assert np.abs(ours - H_TRUE).max() < 1e-9 and ours[2, 2] == 1.0


@pytest.mark.parametrize("seed", range(4))
def test_ransac_same_inliers_as_opencv(seed: int) -> None:
    rng = np.random.default_rng(seed)
    src = rng.uniform(0, 500, (80, 2))
    dst = _project(H_TRUE, src) + rng.normal(0, 0.4, (80, 2))
    outliers = rng.random(80) < 0.35
    dst[outliers] += rng.uniform(40, 150, (int(outliers.sum()), 2)) * rng.choice([-1, 1], (int(outliers.sum()), 2))
    h, inliers = ransac_homography(src, dst, threshold=3.0, seed=seed)
    theirs, mask = cv2.findHomography(src, dst, cv2.RANSAC, 3.0)
    assert np.array_equal(inliers, mask.ravel().astype(bool))
    assert np.array_equal(inliers, ~outliers)
    # the two estimates map the inliers to within a fraction of a pixel of each other
    assert np.abs(_project(h, src[inliers]) - _project(theirs, src[inliers])).max() < 0.5
    assert reprojection_errors(h, src, dst)[inliers].mean() < 1.0


def test_too_few_or_degenerate_correspondences() -> None:
    with pytest.raises(CvkitError, match="at least 4"):
        dlt_homography(np.zeros((3, 2)), np.zeros((3, 2)))
    line = np.c_[np.arange(10.0), np.arange(10.0)]
    with pytest.raises(CvkitError, match="no homography"):
        ransac_homography(line, line + 1)


def _texture(seed: int, size: int = 320) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (size, size, 3)).astype(np.uint8), (0, 0), 2.0)
    for _ in range(40):
        c = tuple(int(v) for v in rng.integers(0, 255, 3))
        x, y, r = (int(v) for v in rng.integers(10, size - 10, 3))
        cv2.circle(img, (x, y), r % 30 + 4, c, -1) if rng.random() < 0.5 else \
            cv2.rectangle(img, (x, y), (x + r % 40 + 5, y + r % 25 + 5), c, -1)
    return img


def test_images_through_the_cli(tmp_path: Path) -> None:
    src = _texture(0)
    h_small = np.array([[0.95, 0.08, 12.0], [-0.06, 1.02, -8.0], [1e-4, 5e-5, 1.0]])
    dst = cv2.warpPerspective(src, h_small, (320, 320))
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    cv2.imwrite(str(a), src[..., ::-1])
    cv2.imwrite(str(b), dst[..., ::-1])
    proc = cvkit("geometry", "homography", str(a), str(b), "--features", "sift", "--out", str(tmp_path / "vis"),
                 "--json", check=True)
    doc = json.loads(proc.stdout)
    corners = np.array([[40.0, 40.0], [280, 40], [280, 280], [40, 280]])
    assert np.abs(_project(np.array(doc["H"]), corners) - _project(h_small, corners)).max() < 1.5
    assert doc["num_inliers"] >= 30 and doc["num_inliers"] <= doc["num_matches"] == len(doc["matches"])
    for name in ("matches.png", "warped.png", "stitched.png"):
        assert (tmp_path / "vis" / name).stat().st_size > 1000
    stitched = cv2.imread(str(tmp_path / "vis" / "stitched.png"))
    assert stitched.shape[0] >= 320 and stitched.shape[1] >= 320


def test_point_files(tmp_path: Path) -> None:
    src = np.random.default_rng(5).uniform(0, 300, (12, 2))
    dst = _project(H_TRUE, src)
    a, b = tmp_path / "a.txt", tmp_path / "b.json"
    a.write_text("# x y\n" + "".join(f"{x} {y}\n" for x, y in src))
    b.write_text(json.dumps(dst.tolist()))
    doc = run_homography(a, b)
    assert np.abs(np.array(doc["H"]) - H_TRUE).max() < 1e-8 and doc["num_inliers"] == 12 and doc["files"] == []
    a.write_text("1 2\n3 four\n")
    with pytest.raises(BadInput, match=r"a\.txt \(line 2\)"):
        run_homography(a, b)
    with pytest.raises(CvkitError, match="two images or two point files"):
        run_homography(a, tmp_path / "c.png")
