"""Dense regression losses; every one averages over the valid pixels only (ground-truth depth > 0, ground-truth
normal of length > 0.5), so pixels without ground truth never pull the prediction.

Depth (``--model-arg depth_loss=``): ``l1`` |d - g| and ``l2`` (d - g)^2 in metres; ``log-l1`` |ln d - ln g|;
``rel-l1`` (default) |d - g| / g, the AbsRel metric itself (log-l1 is its first-order approximation, but it weighs
an over-estimate d = g (1 + r) as ln(1 + r) < r and an under-estimate as -ln(1 - r) > r); ``silog``, the
scale-invariant log loss of Eigen et al. (2014), per image with e = ln d - ln g over its n valid pixels:
mean(e^2) - lambda * mean(e)^2 (``silog_lambda``, default 0.5; 1 is fully scale-invariant), averaged over the
images of the batch.
Normals (``--model-arg normals_loss=``): ``cosine`` 1 - n . n_hat (both unit vectors) and ``angular`` (default),
the angle between them in radians, atan2(|n x n_hat|, n . n_hat): its gradient does not fade as the error shrinks
(the cosine loss's does, as theta^2 / 2), which is what pulls small errors under 11.25 degrees.
"""

from __future__ import annotations

import torch

from cvkit.errors import UsageError

DEPTH_LOSSES = ("l1", "l2", "log-l1", "rel-l1", "silog")
DEFAULT_DEPTH_LOSS = "rel-l1"
NORMAL_LOSSES = ("angular", "cosine")


def depth_loss(pred: torch.Tensor, gt: torch.Tensor, kind: str = DEFAULT_DEPTH_LOSS, silog_lambda: float = 0.5
               ) -> torch.Tensor:
    """``pred``, ``gt``: ``(B, 1, H, W)`` metres (gt 0 = none). 0 with a gradient when no pixel is valid."""
    valid = gt > 0
    count = valid.sum()
    if kind not in DEPTH_LOSSES:
        raise UsageError(f"depth_loss={kind!r}: expected one of {', '.join(DEPTH_LOSSES)}")
    if kind == "silog":
        e = torch.where(valid, torch.log(pred.clamp_min(1e-6)) - torch.log(gt.clamp_min(1e-6)), 0.0)
        n = valid.flatten(1).sum(1)
        has = n > 0
        if not bool(has.any()):
            return pred.sum() * 0.0
        n = n.clamp_min(1)
        mean = e.flatten(1).sum(1) / n
        mean_sq = (e**2).flatten(1).sum(1) / n
        return (mean_sq - silog_lambda * mean**2)[has].mean()
    if kind == "log-l1":
        err = (torch.log(pred.clamp_min(1e-6)) - torch.log(gt.clamp_min(1e-6))).abs()
    elif kind == "rel-l1":  # the AbsRel metric itself; the clamp keeps 0/0 out of invalid pixels' gradient
        err = (pred - gt).abs() / gt.clamp_min(1e-6)
    elif kind == "l1":
        err = (pred - gt).abs()
    else:
        err = (pred - gt) ** 2
    return torch.where(valid, err, 0.0).sum() / count.clamp_min(1)


def normal_loss(pred: torch.Tensor, gt: torch.Tensor, kind: str = "angular") -> torch.Tensor:
    """Mean ``kind`` loss over pixels with a ground-truth normal; ``pred`` unit vectors ``(B, 3, H, W)``."""
    if kind not in NORMAL_LOSSES:
        raise UsageError(f"normals_loss={kind!r}: expected one of {', '.join(NORMAL_LOSSES)}")
    valid = gt.norm(dim=1) > 0.5
    gt = torch.nn.functional.normalize(gt, dim=1)
    cos = (pred * gt).sum(1)
    if kind == "cosine":
        err = 1 - cos
    else:  # the angle; atan2 of the cross product's norm stays accurate near 0 (acos's gradient blows up there)
        err = torch.atan2(torch.linalg.vector_norm(torch.cross(pred, gt, dim=1), dim=1).clamp_min(1e-12), cos)
    return torch.where(valid, err, 0.0).sum() / valid.sum().clamp_min(1)
