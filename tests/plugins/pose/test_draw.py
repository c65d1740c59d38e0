"""Skeleton drawing: outlined so that it shows on any background, enlarged when small, and the validation picture
that marks joints farther than half a head size from the truth."""

from __future__ import annotations

import numpy as np

from cvkit.task import DatasetInfo
from cvkit.vision.draw import WRONG
from cvkit_pose import draw
from cvkit_pose.skeleton import MPII_JOINTS, extra_for
from cvkit_pose.target import make_target

INFO = DatasetInfo("mpii", "mpii", "mpii:x", "val", list(MPII_JOINTS), extra_for(MPII_JOINTS, metric="pckh"))


def _person() -> dict:
    kp = np.stack([np.full(16, 32.0), np.linspace(8, 56, 16)], 1)  # a vertical line of joints
    return make_target(kp[None], np.ones((1, 16)), (64, 64), head_boxes=[[26, 0, 38, 12]])


def test_skeleton_is_outlined_on_a_background_of_its_own_colour():
    t = _person()
    for background in (draw.GT, (0, 0, 0), (255, 255, 255)):
        img = np.empty((64, 64, 3), np.uint8)
        img[:] = background
        out = draw.draw_target(img, t, INFO)
        assert out.shape == (256, 256, 3)  # enlarged 4x
        row = out[128]  # across the limb at mid height
        if background == (0, 0, 0):
            assert (np.abs(row.astype(int) - draw.GT).sum(-1) < 60).sum() >= 2  # the limb itself
        else:
            assert (row.astype(int).sum(-1) < 120).sum() >= 2, background  # its dark outline


def test_validation_picture_marks_joints_off_by_more_than_half_a_head():
    from cvkit_pose import spec
    from cvkit_pose.task import PoseTask

    t = _person()
    kp = np.concatenate([t["keypoints"][0], np.ones((16, 1))], 1)
    kp[3, 0] += 20  # head size 0.6 * diag(12, 12) ~ 10.2 px: 20 px is off, 3 px is not
    kp[5, 0] += 3
    pred = {"keypoints": kp[None], "boxes": np.array([[20, 0, 44, 60.0]]), "scores": np.array([0.8]),
            "match": np.array([0])}
    vp = PoseTask(spec).validation_picture(np.full((64, 64, 3), 255, np.uint8), pred, t, INFO)
    assert vp.wrong and vp.note == "1 joints off, 0 missed"
    red = np.all(vp.prediction == np.array(WRONG, np.uint8), axis=-1)
    assert red[:, 4 * 52 - 12 : 4 * 52 + 12].any() and not red[:, : 4 * 40].any()
    pred["keypoints"][0, 3, 0] -= 20
    assert not PoseTask(spec).validation_picture(np.zeros((64, 64, 3), np.uint8), pred, t, INFO).wrong
    none = {"keypoints": np.zeros((0, 16, 3)), "boxes": np.zeros((0, 4)), "scores": np.zeros(0)}
    assert draw.wrong_joints(none, t, draw.pairs(none, t))[1:] == (0, 1)
