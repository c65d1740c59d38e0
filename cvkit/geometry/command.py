"""The work of ``cvkit geometry homography``, callable from Python: read two images (match their features) or two
point files, estimate the homography, write the pictures and return the JSON document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.errors import BadInput, CvkitError
from cvkit.geometry.homography import ransac_homography, reprojection_errors

POINT_SUFFIXES = (".txt", ".csv", ".json", ".pts")


def read_points(path: Path) -> np.ndarray:
    """``(n, 2)`` points from a text file (``x y`` or ``x,y`` per line, ``#`` comments) or a JSON list of pairs."""
    if not path.is_file():
        raise BadInput(path, "no such file")
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput(path, f"not JSON ({exc.msg})", where=f"line {exc.lineno}") from None
        if not isinstance(data, list):
            raise BadInput(path, "expected a list of [x, y] pairs")
        rows = []
        for i, p in enumerate(data):
            if not (isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) for v in p)):
                raise BadInput(path, "expected [x, y]", where=f"entry {i}")
            rows.append(p)
        pts = np.array(rows, np.float64).reshape(-1, 2)
    else:
        rows = []
        for lineno, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].replace(",", " ").strip()
            if not line:
                continue
            parts = line.split()
            try:
                if len(parts) != 2:
                    raise ValueError
                rows.append([float(parts[0]), float(parts[1])])
            except ValueError:
                raise BadInput(path, f"expected two numbers 'x y', got {line[:60]!r}", where=f"line {lineno}") \
                    from None
        pts = np.array(rows, np.float64).reshape(-1, 2)
    if not np.all(np.isfinite(pts)):
        raise BadInput(path, "points must be finite numbers")
    return pts


def run_homography(src: Path, dst: Path, features: str = "orb", ratio: float = 0.75, threshold: float = 3.0,
                   max_iters: int = 2000, confidence: float = 0.995, seed: int = 0,
                   out: Path | None = None) -> dict[str, Any]:
    """``{"H", "inliers" (indices), "num_matches", "num_inliers", "mean_inlier_error", "matches", "files"}``;
    ``matches`` lists ``[x_src, y_src, x_dst, y_dst]`` per correspondence (point files: their lines in order)."""
    points = src.suffix.lower() in POINT_SUFFIXES
    if points != (dst.suffix.lower() in POINT_SUFFIXES):
        raise CvkitError(f"{src}, {dst}: give two images or two point files, not one of each")
    if points:
        p1, p2 = read_points(src), read_points(dst)
        if len(p1) != len(p2):
            raise BadInput(dst, f"{len(p2)} points, but {src} has {len(p1)}: the files must match line by line")
        images = None
    else:
        from cvkit.geometry.matching import match_features
        from cvkit.io.images import read_image

        images = [read_image(p).permute(1, 2, 0).numpy() for p in (src, dst)]
        images = [np.ascontiguousarray(np.repeat(im, 3, 2) if im.shape[2] == 1 else im[..., :3]) for im in images]
        p1, p2, _ = match_features(images[0], images[1], features, ratio)
        if len(p1) < 4:
            raise CvkitError(f"{src}, {dst}: only {len(p1)} {features} matches pass the ratio test; a homography "
                             "needs 4 (try --features sift or a higher --ratio)")
    h, inliers = ransac_homography(p1, p2, threshold, max_iters, confidence, seed)
    err = reprojection_errors(h, p1, p2)
    files: list[str] = []
    if out is not None and images is not None:
        files = _pictures(out, images, p1, p2, h, inliers)
    return {
        "H": h.tolist(), "inliers": np.nonzero(inliers)[0].tolist(), "num_matches": int(len(p1)),
        "num_inliers": int(inliers.sum()), "mean_inlier_error": float(err[inliers].mean()),
        "threshold": threshold, "features": None if images is None else features,
        "matches": np.c_[p1, p2].tolist(), "files": files,
    }


def _pictures(out: Path, images: list[np.ndarray], p1: np.ndarray, p2: np.ndarray, h: np.ndarray,
              inliers: np.ndarray) -> list[str]:
    from cvkit.geometry.warp import draw_matches, stitch, warp_into
    from cvkit.io.atomic import write_image

    out.mkdir(parents=True, exist_ok=True)
    src, dst = images
    pictures = {"matches.png": draw_matches(src, dst, p1, p2, inliers),
                "warped.png": warp_into(src, h, (dst.shape[1], dst.shape[0])),
                "stitched.png": stitch(src, dst, h)}
    for name, img in pictures.items():
        write_image(out / name, img)
    return [str(out / name) for name in pictures]
