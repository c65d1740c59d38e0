"""COCO keypoint AP: the 10 numbers equal pycocotools' own, run directly on the same files."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from cvkit_pose.datasets.coco import CocoFormat
from cvkit_pose.metrics.evaluator import PoseEvaluator
from cvkit_pose.records import read_coco_results
from cvkit_pose.skeleton import MPII_JOINTS, UNIFORM_SIGMA

from .fixtures import coco_keypoints, random_coco


def pycocotools_stats(gt_file, res_file, sigmas=None) -> list[float]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_file))
        dt = gt.loadRes(str(res_file))
        ev = COCOeval(gt, dt, "keypoints")
        if sigmas is not None:
            ev.params.kpt_oks_sigmas = np.asarray(sigmas)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(v) for v in ev.stats]


def ours(gt_file, res_file, metric=None):
    raw = CocoFormat().load(gt_file, "val", {})
    ev = PoseEvaluator(raw.info, metric)
    index = {s.rsplit("/", 1)[-1]: i for i, s in enumerate(raw.sources)}
    seen = set()
    for name, pred in read_coco_results(res_file, raw.info):
        i = index[name]
        ev.update([i], [pred], [raw.targets[i]])
        seen.add(i)
    from cvkit_pose.metrics.evaluator import empty_prediction

    for i in set(range(len(raw.sources))) - seen:
        ev.update([i], [empty_prediction(len(raw.info.classes))], [raw.targets[i]])
    return ev, ev.compute()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_pycocotools_17_keypoints(tmp_path, seed):
    rng = np.random.default_rng(seed)
    images, anns, results = random_coco(rng, 40)
    gt_file, res_file = tmp_path / "person_keypoints_val2017.json", tmp_path / "results.json"
    coco_keypoints(gt_file, images, anns)
    res_file.write_text(json.dumps(results))
    ev, m = ours(gt_file, res_file)
    ref = pycocotools_stats(gt_file, res_file)
    assert ev.primary == "AP"
    assert [m[k] for k in ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")] == ref
    assert 0.05 < m["AP"] < 0.95


def test_equals_pycocotools_other_keypoint_count_with_uniform_sigmas(tmp_path):
    rng = np.random.default_rng(7)
    images, anns, results = random_coco(rng, 30, k=16)
    gt_file, res_file = tmp_path / "person_keypoints_val2017.json", tmp_path / "results.json"
    coco_keypoints(gt_file, images, anns, names=list(MPII_JOINTS), skeleton=[[1, 2]])
    res_file.write_text(json.dumps(results))
    ev, m = ours(gt_file, res_file)
    ref = pycocotools_stats(gt_file, res_file, sigmas=[UNIFORM_SIGMA] * 16)
    assert list(m.values()) == ref
    assert ev.details()["sigmas"] == [UNIFORM_SIGMA] * 16


def test_perfect_and_empty_predictions(tmp_path):
    rng = np.random.default_rng(3)
    images, anns, _ = random_coco(rng, 10)
    gt_file = tmp_path / "person_keypoints_val2017.json"
    coco_keypoints(gt_file, images, anns)
    perfect = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
               for a in anns if not a["iscrowd"] and a["num_keypoints"] > 0]
    res = tmp_path / "perfect.json"
    res.write_text(json.dumps(perfect))
    _, m = ours(gt_file, res)
    assert m["AP"] == pytest.approx(1.0) and m["AR"] == pytest.approx(1.0)
    res.write_text("[]")  # pycocotools' loadRes refuses an empty list: every image scored as "no prediction"
    _, m = ours(gt_file, res)
    assert m["AP"] == 0.0 and m["AR"] == 0.0
