"""PCKh, as MPII's MATLAB evaluation and HRNet's ``MPIIDataset.evaluate`` compute it.

For each labelled joint: ``d = ||prediction - ground truth|| / head_size`` with ``head_size = 0.6 * ||(x2, y2) -
(x1, y1)||`` of the person's head box (SC_BIAS 0.6); the joint is correct when ``d <= threshold`` (MATLAB and
HRNet; ``strict=True`` uses ``<`` like mmpose's ``keypoint_pck_accuracy``). Per joint, PCKh is correct / labelled.
A group (Shoulder, Elbow, ...) is the plain mean of its joints' PCKh (HRNet: ``0.5 * (left + right)``); Mean is
the count-weighted mean over every joint but pelvis and thorax (14 joints for MPII), i.e. all correct over all
labelled among them. PCKh@0.1 is a true 0.10 (HRNet's "Mean@0.1" reads its threshold table at row 11, 0.11).
Values are fractions (HRNet prints percentages). A joint never labelled in the split has no PCKh: it is left out
of its group's mean (a group with none reports 0.0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cvkit_pose.skeleton import MPII_EXCLUDED, MPII_GROUPS, MPII_JOINTS

SC_BIAS = 0.6


def head_sizes(head_boxes: np.ndarray) -> np.ndarray:
    """``0.6 * diagonal`` of ``[x1, y1, x2, y2]`` head boxes ``(N, 4)``."""
    hb = np.asarray(head_boxes, np.float64)
    return SC_BIAS * np.linalg.norm(hb[:, 2:] - hb[:, :2], axis=1)


def normalised_errors(pred: np.ndarray, gt: np.ndarray, head_size: np.ndarray) -> np.ndarray:
    """``||pred - gt|| / head_size`` for ``(N, K, 2)`` points and ``(N,)`` head sizes -> ``(N, K)``."""
    return np.linalg.norm(np.asarray(pred, np.float64) - gt, axis=-1) / np.asarray(head_size, np.float64)[:, None]


def pckh(errors: np.ndarray, labelled: np.ndarray, names: list[str], strict: bool = False) -> dict[str, Any]:
    """Metrics from per-person normalised errors ``(N, K)`` (inf where a person had no prediction) and labelled
    flags ``(N, K)``: ``{"metrics": {...}, "per_joint": [...]}``."""
    labelled = np.asarray(labelled, bool)
    err = np.where(labelled, np.asarray(errors, np.float64), np.inf)
    count = labelled.sum(0)
    mpii = list(names) == MPII_JOINTS
    excluded = MPII_EXCLUDED if mpii else []
    include = np.array([k not in excluded for k in range(len(names))], bool)

    def at(threshold: float) -> tuple[np.ndarray, float]:
        ok = (err < threshold) if strict else (err <= threshold)
        correct = (ok & labelled).sum(0)
        per_joint = np.divide(correct, count, out=np.full(len(names), np.nan), where=count > 0)
        total = count[include].sum()
        return per_joint, float(correct[include].sum() / total) if total else 0.0

    p50, mean50 = at(0.5)
    p10, mean10 = at(0.1)
    metrics: dict[str, float] = {"PCKh": mean50, "PCKh@0.1": mean10}
    if mpii:
        for group, joints in MPII_GROUPS.items():
            vals = [p50[j] for j in joints if count[j] > 0]
            metrics[group] = float(np.mean(vals)) if vals else 0.0
    per_joint = [{"joint": n, "index": k, "count": int(count[k]), "included_in_mean": bool(include[k]),
                  "PCKh": None if np.isnan(p50[k]) else float(p50[k]),
                  "PCKh@0.1": None if np.isnan(p10[k]) else float(p10[k])} for k, n in enumerate(names)]
    return {"metrics": metrics, "per_joint": per_joint}
