"""Keypoint sets: MPII's 16 joints and COCO's 17 keypoints, their skeletons, flip pairs, groups and OKS sigmas.

Everything here is plain data (lists of strings and ints) because it travels in ``DatasetInfo.extra``, which
checkpoints store and load with ``weights_only=True``.
"""

from __future__ import annotations

from typing import Any

MPII_JOINTS = [
    "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
    "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist",
]
# Limbs drawn between joints (0-based indices).
MPII_SKELETON = [[0, 1], [1, 2], [2, 6], [6, 3], [3, 4], [4, 5], [6, 7], [7, 8], [8, 9],
                 [10, 11], [11, 12], [12, 7], [7, 13], [13, 14], [14, 15]]
MPII_FLIP_PAIRS = [[0, 5], [1, 4], [2, 3], [10, 15], [11, 14], [12, 13]]
# The groups PCKh is reported for (HRNet/MATLAB: a group is the plain mean of its joints' PCKh) and the joints left
# out of the Mean (pelvis and thorax).
MPII_GROUPS = {"Head": [9], "Shoulder": [12, 13], "Elbow": [11, 14], "Wrist": [10, 15], "Hip": [2, 3],
               "Knee": [1, 4], "Ankle": [0, 5]}
MPII_EXCLUDED = [6, 7]
# gt_valid.mat's names for the same 16 joints, in the same order.
MPII_MAT_NAMES = ["rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor", "neck", "head",
                  "rwri", "relb", "rsho", "lsho", "lelb", "lwri"]

COCO_KEYPOINTS = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
]
# As in the COCO person category (1-based pairs there, 0-based here).
COCO_SKELETON = [[15, 13], [13, 11], [16, 14], [14, 12], [11, 12], [5, 11], [6, 12], [5, 6], [5, 7], [6, 8],
                 [7, 9], [8, 10], [1, 2], [0, 1], [0, 2], [1, 3], [2, 4], [3, 5], [4, 6]]
COCO_SIGMAS = [0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087,
               0.087, 0.089, 0.089]
# For any other keypoint count: one sigma for every keypoint, the mean of COCO's 17 (0.0669) rounded.
UNIFORM_SIGMA = 0.067

_SIDES = (("left_", "right_"), ("l_", "r_"), ("_left", "_right"), ("_l", "_r"))


def flip_pairs(names: list[str]) -> list[list[int]]:
    """Left/right partners found by name (``left_x``/``right_x``, ``l_x``/``r_x`` and the suffix forms)."""
    index = {n.lower(): i for i, n in enumerate(names)}
    pairs = []
    for i, name in enumerate(names):
        low = name.lower()
        for left, right in _SIDES:
            partner = None
            if left.endswith("_") and low.startswith(left):
                partner = right + low[len(left):]
            elif left.startswith("_") and low.endswith(left):
                partner = low[: -len(left)] + right
            if partner is not None and partner in index:
                pairs.append([i, index[partner]])
                break
    return pairs


def flip_index(names: list[str], pairs: list[list[int]] | None = None) -> list[int]:
    """``perm[k]`` is the keypoint that ``k`` becomes in a mirrored image."""
    perm = list(range(len(names)))
    for a, b in pairs if pairs is not None else flip_pairs(names):
        perm[a], perm[b] = b, a
    return perm


def sigmas_for(num_keypoints: int) -> list[float]:
    """OKS sigmas: COCO's when there are 17 keypoints, else :data:`UNIFORM_SIGMA` for each."""
    return list(COCO_SIGMAS) if num_keypoints == len(COCO_SIGMAS) else [UNIFORM_SIGMA] * num_keypoints


def default_skeleton(names: list[str]) -> list[list[int]]:
    if names == MPII_JOINTS:
        return [list(p) for p in MPII_SKELETON]
    if names == COCO_KEYPOINTS:
        return [list(p) for p in COCO_SKELETON]
    return []


def extra_for(names: list[str], skeleton: list[list[int]] | None = None, **more: Any) -> dict[str, Any]:
    """The ``DatasetInfo.extra`` a loader records for a keypoint set (JSON-like values only)."""
    return {
        "keypoints": list(names),
        "skeleton": [[int(a), int(b)] for a, b in (skeleton if skeleton is not None else default_skeleton(names))],
        "flip_pairs": flip_pairs(names),
        "sigmas": sigmas_for(len(names)),
        **more,
    }
