"""builtin:stickmen written in both real formats and read back by the real loaders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cvkit.errors import CvkitError, UsageError
from cvkit.io.images import read_image
from cvkit_pose.datasets.coco import CocoFormat
from cvkit_pose.datasets.mpii import MpiiFormat
from cvkit_pose.datasets.stickmen import StickmenBuiltin, generate, split_sizes
from cvkit_pose.metrics.evaluator import PoseEvaluator
from cvkit_pose.skeleton import MPII_JOINTS
from cvkit_pose.transforms import whole_image_crop


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("stickmen")
    b = StickmenBuiltin()
    return b.write(root / "mpii", "mpii", 20, 3), b.write(root / "coco", "coco", 20, 3)


def test_both_formats_load_the_same_figures(written):
    mpii_spec, coco_spec = written
    assert mpii_spec.startswith("mpii:") and coco_spec.startswith("coco:")
    mroot, croot = mpii_spec.split(":", 1)[1], coco_spec.split(":", 1)[1]
    assert MpiiFormat().detect(mroot) and CocoFormat().detect(croot)
    for split, n in split_sizes(20).items():
        m, c = MpiiFormat().load(mroot, split, {}), CocoFormat().load(croot, split, {})
        assert len(m.sources) == len(c.sources) == n and m.info.classes == c.info.classes == MPII_JOINTS
        assert [s.rsplit("/", 1)[-1] for s in m.sources] == [s.rsplit("/", 1)[-1] for s in c.sources]
        for tm, tc, src in zip(m.targets, c.targets, m.sources, strict=True):
            np.testing.assert_allclose(tm["keypoints"], tc["keypoints"], atol=0.01)
            assert tm["visible"].min() == 1 and tc["visible"].min() == 2
            assert tm["image_id"] == tc["image_id"] == int(src.rsplit("/", 1)[-1][:6])
            # MPII centre/scale describe the whole image: the evaluation crop is predict's whole-image crop
            np.testing.assert_allclose(tm["crops"][0], whole_image_crop(64, 64), atol=1e-9)
            assert np.isfinite(tm["head_boxes"]).all() if split == "val" else np.isnan(tm["head_boxes"]).all()
    assert m.info.extra["metric"] == "pckh" and c.info.extra["metric"] == "oks"
    assert c.info.extra["skeleton"] == m.info.extra["skeleton"] and m.info.extra["flip_pairs"]
    people = json.loads((Path(mroot) / "annot" / "valid.json").read_text())
    assert set(people[0]) == {"image", "center", "scale", "joints", "joints_vis"}  # HRNet's JSON person


def test_ground_truth_scores_perfectly(written):
    mpii_spec, coco_spec = written
    for fmt, spec in ((MpiiFormat(), mpii_spec), (CocoFormat(), coco_spec)):
        raw = fmt.load(spec.split(":", 1)[1], "val", {})
        ev = PoseEvaluator(raw.info)
        for i, t in enumerate(raw.targets):
            kp = np.concatenate([t["keypoints"], np.ones((*t["keypoints"].shape[:2], 1))], -1)
            ev.update([i], [{"keypoints": kp, "boxes": t["boxes"], "scores": np.ones(len(kp))}], [t])
        m = ev.compute()
        assert m[ev.primary] == pytest.approx(1.0)


def test_drawing_matches_the_joints(written):
    raw = MpiiFormat().load(written[0].split(":", 1)[1], "train", {})
    img = read_image(raw.sources[0]).permute(1, 2, 0).numpy().astype(float)
    kp = np.round(raw.targets[0]["keypoints"][0]).astype(int)
    on = img[kp[:, 1], kp[:, 0]]
    corners = img[[0, 0, -1, -1], [0, -1, 0, -1]]
    # every joint lies on the figure (its colour), far from the background corners
    assert np.abs(on - on.mean(0)).sum(1).max() < 120
    assert np.abs(on.mean(0) - corners.mean(0)).sum() > 100


def test_deterministic_and_prefix_stable():
    a, ja, ha, ba = generate(5, "train", 7)
    b, jb, hb, bb = generate(5, "train", 7)
    assert np.array_equal(a, b) and np.array_equal(ja, jb)
    c, jc, _, _ = generate(6, "train", 7)
    assert not np.array_equal(ja, jc)
    assert a.shape == (64, 64, 3) and ja.min() >= 1 and ja.max() <= 62
    assert (ha[2:] > ha[:2]).all() and (ba[:2] <= ja.min(0)).all() and (ba[2:] >= ja.max(0)).all()
    assert split_sizes(None) == {"train": 4000, "val": 500} and split_sizes(10) == {"train": 9, "val": 1}


def test_write_errors(tmp_path):
    with pytest.raises(UsageError, match="--size 1"):
        StickmenBuiltin().write(tmp_path / "x", "mpii", 1, 0)
    with pytest.raises(UsageError, match="voc"):
        StickmenBuiltin().write(tmp_path / "x", "voc", 4, 0)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    with pytest.raises(CvkitError, match="not empty"):
        StickmenBuiltin().write(tmp_path / "full", "mpii", 4, 0)
    assert (tmp_path / "full" / "keep.txt").exists() and not list(tmp_path.glob(".full.tmp-*"))
