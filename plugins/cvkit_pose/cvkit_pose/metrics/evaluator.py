"""The pose evaluator: per-image predictions against raw targets, scored by PCKh or COCO keypoint AP.

``--metric``: ``pckh`` (MPII's default: MATLAB/HRNet, a joint is correct when ``d <= 0.5``), ``pckh-strict``
(mmpose's ``d < 0.5``) or ``oks`` (COCO's default: pycocotools keypoint AP). The dataset's loader records its
default in ``DatasetInfo.extra["metric"]``.

PCKh is a single-person measure, so annotated people are paired with predicted people first. A top-down model
evaluated on the annotation's own person crops pairs each crop with its person (``match``, MPII's protocol).
Otherwise (a predictions file, Keypoint R-CNN) every annotated person is paired with the closest predicted person
of the same image: greedily, in order of increasing mean normalised distance over the person's labelled joints,
each prediction used at most once; a person left without a prediction misses all its joints. Crowd regions and
people without labelled joints are not scored; nor are people without a head box (counted in ``details``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cvkit.contract import DatasetInfo, SampleEvaluator
from cvkit.errors import CvkitError
from cvkit_pose.metrics import oks, pckh
from cvkit_pose.skeleton import sigmas_for
from cvkit_pose.target import scorable

METRICS = ("pckh", "pckh-strict", "oks")


def empty_prediction(num_keypoints: int) -> dict[str, Any]:
    return {"keypoints": np.zeros((0, num_keypoints, 3)), "boxes": np.zeros((0, 4)), "scores": np.zeros(0)}


def pair(errors: np.ndarray) -> dict[int, int]:
    """Greedy one-to-one pairing on a cost matrix ``(people, predictions)``: ``{person: prediction}``."""
    out: dict[int, int] = {}
    used: set[int] = set()
    order = np.argsort(errors, axis=None, kind="stable")
    for flat in order:
        g, p = np.unravel_index(flat, errors.shape)
        if g in out or p in used or not np.isfinite(errors[g, p]):
            continue
        out[int(g)] = int(p)
        used.add(int(p))
    return out


class PoseEvaluator(SampleEvaluator):  # per-sample state and merge from the core
    def __init__(self, info: DatasetInfo, metric: str | None = None) -> None:
        super().__init__()
        self.info = info
        self.metric = metric or str(info.extra.get("metric", "pckh"))
        if self.metric not in METRICS:
            raise CvkitError(f"--metric {self.metric}: choose from {', '.join(METRICS)}")
        self.primary = "AP" if self.metric == "oks" else "PCKh"
        self._details: dict[str, Any] = {}

    def update(self, indices: Sequence[int], predictions: Sequence[Any], targets: Sequence[Any]) -> None:
        for i, pred, target in zip(indices, predictions, targets, strict=True):
            self.items[int(i)] = (pred, target)

    def compute(self) -> dict[str, float]:
        return self._oks() if self.metric == "oks" else self._pckh(strict=self.metric == "pckh-strict")

    def details(self) -> dict[str, Any]:
        return self._details

    # ------------------------------------------------------------------ PCKh
    def _pckh(self, strict: bool) -> dict[str, float]:
        names = list(self.info.classes)
        errors, labelled = [], []
        unscored = 0
        for key in sorted(self.items):
            pred, t = self.items[key]
            people = np.flatnonzero(scorable(t))
            sizes = pckh.head_sizes(t["head_boxes"][people]) if len(people) else np.zeros(0)
            ok = np.isfinite(sizes) & (sizes > 0)
            unscored += int((~ok).sum())
            people, sizes = people[ok], sizes[ok]
            if not len(people):
                continue
            gt = t["keypoints"][people]
            lab = np.asarray(t["visible"])[people] > 0
            kp = np.asarray(pred["keypoints"], np.float64).reshape(-1, len(names), 3)
            err = np.full(gt.shape[:2], np.inf)
            for g, p in self._pairs(pred, people, gt, lab, sizes, kp).items():
                err[g] = pckh.normalised_errors(kp[p][None, :, :2], gt[g][None], sizes[g:g + 1])[0]
            errors.append(err)
            labelled.append(lab)
        if not errors:
            if unscored:
                raise CvkitError(f"{self.info.spec} split {self.info.split!r}: no person has a head box, so PCKh "
                                 "cannot be computed (MPII: add gt_valid.mat or the original .mat; or --metric oks)")
            errors, labelled = [np.zeros((0, len(names)))], [np.zeros((0, len(names)), bool)]
        out = pckh.pckh(np.concatenate(errors), np.concatenate(labelled), names, strict=strict)
        self._details = {"per_joint": out["per_joint"], "people_without_head_box": unscored}
        return out["metrics"]

    @staticmethod
    def _pairs(pred: dict[str, Any], people: np.ndarray, gt: np.ndarray, lab: np.ndarray, sizes: np.ndarray,
               kp: np.ndarray) -> dict[int, int]:
        match = pred.get("match")
        if match is not None:  # crops of the annotated people: each person with its own crop
            where = {int(m): k for k, m in enumerate(match)}
            return {g: where[int(j)] for g, j in enumerate(people) if int(j) in where}
        if not len(kp):
            return {}
        d = np.linalg.norm(kp[None, :, :, :2] - gt[:, None], axis=-1) / sizes[:, None, None]  # (G, P, K)
        cost = np.where(lab[:, None], d, 0).sum(-1) / np.maximum(lab.sum(-1), 1)[:, None]
        return pair(cost)

    # ------------------------------------------------------------------- OKS
    def _oks(self) -> dict[str, float]:
        names = list(self.info.classes)
        keys = sorted(self.items)
        targets = [dict(self.items[k][1]) for k in keys]
        for k, t in zip(keys, targets, strict=True):
            if t.get("image_id") is None:
                t["image_id"] = k + 1
        cat = int(self.info.extra.get("category_id", 1))
        preds = [self.items[k][0] for k in keys]
        results = oks.results_list(preds, [t["image_id"] for t in targets], cat)
        sigmas = self.info.extra.get("sigmas") or sigmas_for(len(names))
        if len(sigmas) != len(names):
            raise CvkitError(f"{self.info.spec}: {len(sigmas)} OKS sigmas for {len(names)} keypoints")
        stats = oks.oks_evaluate(oks.ground_truth(targets, cat, names), results, sigmas)
        self._details = {"sigmas": [float(s) for s in sigmas], "predicted_people": len(results),
                         "annotated_people": int(sum(int(scorable(t).sum()) for t in targets))}
        return stats
