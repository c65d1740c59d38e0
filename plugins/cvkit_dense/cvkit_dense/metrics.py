"""Depth and surface-normal metrics, exactly as the literature defines them (numpy only).

Depth (Eigen et al., NIPS 2014), over the valid pixels of one image, d predicted, g ground truth:
AbsRel = mean |d - g| / g; SqRel = mean (d - g)^2 / g; RMSE = sqrt(mean (d - g)^2); RMSE log = sqrt(mean
(ln d - ln g)^2); log10 = mean |log10 d - log10 g|; delta_k = fraction with max(d / g, g / d) < 1.25^k.

Valid pixels (monodepth2's protocol): ground truth finite and in ``(min_depth, max_depth)`` (``max_depth``: the cap,
10 m for NYU, 80 m for KITTI, none by default) and inside the evaluation crop; predictions are clipped to
``[min_depth, max_depth]`` first. Crops: ``eigen-nyu`` rows 45..470 and columns 41..600 of 480x640 (scaled to other
sizes); ``garg`` and ``eigen-kitti`` as fractions of the image (monodepth2's ``evaluate_depth.py``).

Normals: angle = degrees(arccos(clip(n . n_hat, -1, 1))) with both normalised, over pixels with a ground-truth
normal; mean, median and the percentage of pixels within 11.25, 22.5 and 30 degrees.

Pooling over a dataset: ``per-image`` (default, as Eigen's and monodepth's evaluation code): each metric is computed
per image and the per-image values are averaged (an image without a valid pixel is left out); ``pooled``: every valid
pixel of the dataset counts once (RMSE = sqrt of the mean over all pixels, the median over all pixels).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from cvkit.contract import DatasetInfo, Evaluator

MIN_DEPTH = 1e-3
DEPTH_KEYS = ("abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "delta1", "delta2", "delta3")
NORMAL_KEYS = ("angle_mean", "angle_median", "within_11.25", "within_22.5", "within_30")
MODES = ("per-image", "pooled")


def crop_mask(height: int, width: int, crop: str | None) -> np.ndarray:
    """Boolean mask of the evaluation crop for an image of ``height`` x ``width``."""
    mask = np.zeros((height, width), bool)
    if crop in (None, "none"):
        mask[:] = True
    elif crop == "eigen-nyu":
        sy, sx = height / 480, width / 640
        mask[int(round(45 * sy)):int(round(471 * sy)), int(round(41 * sx)):int(round(601 * sx))] = True
    elif crop in ("garg", "eigen-kitti"):
        f = (0.40810811, 0.99189189, 0.03594771, 0.96405229) if crop == "garg" else \
            (0.3324324, 0.91351351, 0.0359477, 0.96405229)
        y0, y1, x0, x1 = (np.array([f[0] * height, f[1] * height, f[2] * width, f[3] * width])).astype(np.int32)
        mask[y0:y1, x0:x1] = True
    else:
        raise ValueError(f"crop {crop!r}: expected none, eigen-nyu, garg or eigen-kitti")
    return mask


def valid_depth(gt: np.ndarray, crop: str | None = None, max_depth: float | None = None,
                min_depth: float = MIN_DEPTH) -> np.ndarray:
    ok = np.isfinite(gt) & (gt > min_depth) & crop_mask(*gt.shape, crop)
    if max_depth is not None:
        ok &= gt < max_depth
    return ok


def depth_terms(pred: np.ndarray, gt: np.ndarray, crop: str | None = None, max_depth: float | None = None,
                min_depth: float = MIN_DEPTH) -> dict[str, float] | None:
    """Sums over the valid pixels of one image (``n`` and the sum behind each metric); None when none is valid."""
    ok = valid_depth(gt, crop, max_depth, min_depth)
    n = int(ok.sum())
    if n == 0:
        return None
    g = gt[ok].astype(np.float64)
    d = np.clip(pred[ok].astype(np.float64), min_depth, np.inf if max_depth is None else max_depth)
    ratio = np.maximum(d / g, g / d)
    return {"n": n, "abs_rel": float((np.abs(d - g) / g).sum()), "sq_rel": float(((d - g) ** 2 / g).sum()),
            "sq": float(((d - g) ** 2).sum()), "sq_log": float(((np.log(d) - np.log(g)) ** 2).sum()),
            "log10": float(np.abs(np.log10(d) - np.log10(g)).sum()),
            **{f"delta{k}": float((ratio < 1.25**k).sum()) for k in (1, 2, 3)}}


def depth_from_terms(t: dict[str, float]) -> dict[str, float]:
    n = t["n"]
    return {"abs_rel": t["abs_rel"] / n, "sq_rel": t["sq_rel"] / n, "rmse": float(np.sqrt(t["sq"] / n)),
            "rmse_log": float(np.sqrt(t["sq_log"] / n)), "log10": t["log10"] / n,
            **{f"delta{k}": t[f"delta{k}"] / n for k in (1, 2, 3)}}


def normal_angles(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Angles (degrees) at the pixels with a ground-truth normal (|gt| > 0.5), both vectors normalised."""
    gt = gt.astype(np.float64)
    pred = pred.astype(np.float64)
    gn = np.linalg.norm(gt, axis=-1)
    ok = gn > 0.5
    p = pred[ok]
    pn = np.linalg.norm(p, axis=-1)
    cos = (p * gt[ok]).sum(-1) / (np.where(pn > 0, pn, 1) * gn[ok])
    cos = np.where(pn > 0, cos, -1.0)  # no predicted direction: the worst angle
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def normal_stats(angles: np.ndarray) -> dict[str, float]:
    return {"angle_mean": float(angles.mean()), "angle_median": float(np.median(angles)),
            **{f"within_{t:g}": float((angles < t).mean() * 100) for t in (11.25, 22.5, 30)}}


class DenseEvaluator(Evaluator):
    """Depth and (when both sides have them) normal metrics; ``mode``: ``per-image`` (default) or ``pooled``."""

    primary = "delta1"
    higher_is_better = True

    def __init__(self, info: DatasetInfo, mode: str | None = None) -> None:
        self.mode = mode or "per-image"
        if self.mode not in MODES:
            raise ValueError(f"metric {mode!r}: expected per-image or pooled")
        self.crop = info.extra.get("crop", "none")
        self.max_depth = info.extra.get("max_depth")
        self.items: dict[int, tuple[dict[str, float] | None, Any]] = {}

    def update(self, indices: Sequence[int], predictions: Sequence[Any], targets: Sequence[Any]) -> None:
        from cvkit_dense.datasets.depthio import load_target

        for i, pred, target in zip(indices, predictions, targets, strict=True):
            gt_depth, gt_normals = load_target(target)
            depth = _fit(pred.get("depth"), gt_depth.shape)
            terms = depth_terms(depth, gt_depth, self.crop, self.max_depth) if depth is not None else None
            normals = _fit(pred.get("normals"), gt_depth.shape)
            angles = None
            if gt_normals is not None and normals is not None:
                angles = normal_angles(normals, gt_normals)
                if self.mode == "per-image":
                    angles = normal_stats(angles) if angles.size else None
            self.items[int(i)] = (terms, angles)

    def state(self) -> Any:
        return self.items

    def merge(self, states: Iterable[Any]) -> None:
        self.items = {k: v for s in states for k, v in s.items()}

    def compute(self) -> dict[str, float]:
        terms = [t for t, _ in self.items.values() if t is not None]
        angles = [a for _, a in self.items.values() if a is not None]
        out: dict[str, float] = {}
        if self.mode == "per-image":
            per = [depth_from_terms(t) for t in terms]
            out.update({k: float(np.mean([p[k] for p in per])) if per else float("nan") for k in DEPTH_KEYS})
            if angles:
                out.update({k: float(np.mean([a[k] for a in angles])) for k in NORMAL_KEYS})
        else:
            total = {k: sum(t[k] for t in terms) for k in terms[0]} if terms else None
            out.update(depth_from_terms(total) if total else {k: float("nan") for k in DEPTH_KEYS})
            pixels = [a for a in angles if a.size]
            if pixels:
                out.update(normal_stats(np.concatenate(pixels).astype(np.float64)))
        return out

    def details(self) -> dict[str, Any]:
        return {"pooling": self.mode, "crop": self.crop, "max_depth": self.max_depth,
                "images": len(self.items), "images_without_valid_depth": sum(t is None for t, _ in self.items.values())}


def _fit(x: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """A prediction at the ground truth's size (bilinear resize when the sizes differ)."""
    if x is None:
        return None
    x = np.asarray(x, np.float32)
    if x.shape[:2] == tuple(shape):
        return x
    import cv2

    return cv2.resize(x, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
