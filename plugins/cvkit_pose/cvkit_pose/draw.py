"""Skeletons drawn with OpenCV on RGB images (predictions and ground truth). Limbs and joints are outlined in black
so that they stay visible on any background; small images are enlarged first; widths scale with the picture."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from cvkit.task import DatasetInfo
from cvkit.vision.draw import MAX_DRAWN, WRONG, enlarge, label, line_width
from cvkit_pose.metrics import pckh
from cvkit_pose.target import scorable

LIMB = (255, 200, 0)
JOINT = (255, 230, 60)
GT = (60, 220, 60)
OUTLINE = (0, 0, 0)
TOLERANCE = 0.5  # a predicted joint farther than this many head sizes from the truth is drawn as wrong (PCKh@0.5)
BOX_HEAD = 0.1  # without a head box, a person's "head size" is this fraction of its box diagonal


def _pt(xy: Any, scale: float) -> tuple[int, int]:
    return int(round((xy[0] + 0.5) * scale - 0.5)), int(round((xy[1] + 0.5) * scale - 0.5))


def skeleton(img: np.ndarray, points: np.ndarray, ok: np.ndarray, edges: list[list[int]], scale: float,
             limb: tuple[int, int, int], joint: tuple[int, int, int], bad: np.ndarray | None = None) -> None:
    """Limbs between ``ok`` joints, then the joints, each over a black outline (in place); ``bad`` joints are drawn
    in red with a ring."""
    t = line_width(img)
    for a, b in edges:
        if a < len(points) and b < len(points) and ok[a] and ok[b]:
            p, q = _pt(points[a], scale), _pt(points[b], scale)
            cv2.line(img, p, q, OUTLINE, t + 2, cv2.LINE_AA)
            cv2.line(img, p, q, limb, t, cv2.LINE_AA)
    for k, p in enumerate(points):
        if ok[k]:
            wrong = bad is not None and bad[k]
            c = _pt(p, scale)
            cv2.circle(img, c, t + 2, OUTLINE, -1, cv2.LINE_AA)
            cv2.circle(img, c, t + 1, WRONG if wrong else joint, -1, cv2.LINE_AA)
            if wrong:
                cv2.circle(img, c, 2 * t + 3, WRONG, max(1, t // 2), cv2.LINE_AA)


def draw_prediction(image: np.ndarray, prediction: dict[str, Any], info: DatasetInfo,
                    bad: list[np.ndarray] | None = None, limit: int = MAX_DRAWN) -> np.ndarray:
    """Every predicted person (``predict --conf`` filters them), the best ``limit``, with its score."""
    img, scale = enlarge(image)
    edges = info.extra.get("skeleton") or []
    scores = np.asarray(prediction["scores"], np.float64).reshape(-1)
    for i in np.argsort(-scores, kind="stable")[:limit][::-1]:
        kp, box = np.asarray(prediction["keypoints"][i]), prediction["boxes"][i]
        skeleton(img, kp[:, :2], np.ones(len(kp), bool), edges, scale, LIMB, JOINT,
                 None if bad is None else bad[i])
        x1, y1 = _pt(box[:2], scale)
        label(img, f"{float(scores[i]):.2f}", x1, y1, (40, 40, 40))
    return img


def draw_target(image: np.ndarray, target: dict[str, Any], info: DatasetInfo) -> np.ndarray:
    img, scale = enlarge(image)
    edges = info.extra.get("skeleton") or []
    t = line_width(img)
    for p in range(len(target["keypoints"])):
        skeleton(img, target["keypoints"][p], np.asarray(target["visible"][p]) > 0, edges, scale, GT, GT)
        hb = target["head_boxes"][p]
        if np.isfinite(hb).all():
            cv2.rectangle(img, _pt(hb[:2], scale), _pt(hb[2:], scale), OUTLINE, t + 2)
            cv2.rectangle(img, _pt(hb[:2], scale), _pt(hb[2:], scale), GT, t)
    return img


def _sizes(target: dict[str, Any], people: np.ndarray) -> np.ndarray:
    """PCKh head sizes of ``people``, or :data:`BOX_HEAD` of their box diagonal where there is no head box."""
    sizes = pckh.head_sizes(np.asarray(target["head_boxes"], np.float64).reshape(-1, 4)[people])
    b = np.asarray(target["boxes"], np.float64).reshape(-1, 4)[people]
    fallback = np.maximum(BOX_HEAD * np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]), 1.0)
    return np.where(np.isfinite(sizes) & (sizes > 0), sizes, fallback)


def pairs(prediction: dict[str, Any], target: dict[str, Any]) -> dict[int, int]:
    """Annotated person -> predicted person: a top-down prediction's own ``match`` (its crops are the annotated
    people), else greedily by mean normalised distance over the labelled joints (the evaluator's pairing)."""
    from cvkit_pose.metrics.evaluator import pair

    people = np.flatnonzero(scorable(target))
    match = prediction.get("match")
    if match is not None:
        where = {int(m): k for k, m in enumerate(match)}
        return {int(g): where[int(g)] for g in people if int(g) in where}
    kp = np.asarray(prediction["keypoints"], np.float64)
    if not len(kp) or not len(people):
        return {}
    gt = np.asarray(target["keypoints"], np.float64)[people]
    lab = np.asarray(target["visible"])[people] > 0
    d = np.linalg.norm(kp[None, :, :, :2] - gt[:, None], axis=-1) / _sizes(target, people)[:, None, None]
    cost = np.where(lab[:, None], d, 0).sum(-1) / np.maximum(lab.sum(-1), 1)[:, None]
    return {int(people[g]): p for g, p in pair(cost).items()}


def wrong_joints(prediction: dict[str, Any], target: dict[str, Any], pairs: dict[int, int]
                 ) -> tuple[list[np.ndarray], int, int]:
    """Per predicted person, which joints lie farther than :data:`TOLERANCE` head sizes from the labelled joint of
    the person it is paired with (``pairs``: target person -> prediction); the counts of wrong joints and of
    scorable people left without a prediction."""
    kp = np.asarray(prediction["keypoints"], np.float64)
    bad = [np.zeros(kp.shape[1] if kp.ndim == 3 else 0, bool) for _ in range(len(kp))]
    wrong = 0
    people = np.flatnonzero(scorable(target))
    for g in people:
        if int(g) not in pairs:
            continue
        p = pairs[int(g)]
        size = _sizes(target, np.array([g]))
        err = pckh.normalised_errors(kp[p][None, :, :2], np.asarray(target["keypoints"][g])[None], size)[0]
        bad[p] = (np.asarray(target["visible"][g]) > 0) & (err > TOLERANCE)
        wrong += int(bad[p].sum())
    return bad, wrong, sum(int(g) not in pairs for g in people)
