"""COCO scoring of the shared vision layer equals pycocotools' own COCOeval on the same files, to the last bit."""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from cvkit.errors import BadInput
from cvkit.vision.coco import load_coco
from cvkit.vision.evaluate import BOX_STATS, KEYPOINT_STATS, coco_evaluate
from cvkit.vision.results import read_coco_results, write_coco_results
from cvkit.vision.voc import load_voc
from tests.core.vision.cocofixtures import dump, instances


def reference(gt_file, res_file, iou_type):
    """pycocotools on the files themselves: the numbers users compare with."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_file))
        ev = COCOeval(gt, gt.loadRes(str(res_file)), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def same(ours, ref):
    assert ours.evaluator.stats.tolist() == ref.stats.tolist()  # exact, no tolerance
    for key in ("precision", "recall", "scores"):
        assert np.array_equal(ours.evaluator.eval[key], ref.eval[key])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bbox_and_segm_equal_pycocotools(tmp_path, seed):
    gt, results, _ = instances(seed)
    gt_file = dump(tmp_path / "annotations" / "instances_val2017.json", gt)
    box_file = dump(tmp_path / "box.json", [{k: v for k, v in r.items() if k != "segmentation"} for r in results])
    segm = [{k: v for k, v in r.items() if k != "bbox"} for r in results if "segmentation" in r]
    segm_file = dump(tmp_path / "segm.json", segm)
    s = load_coco(tmp_path, "val")
    boxes = read_coco_results(box_file)
    before = copy.deepcopy(boxes)
    scores = coco_evaluate(s, boxes, "bbox", source=box_file)
    assert boxes == before  # the caller's list is untouched
    same(scores, reference(gt_file, box_file, "bbox"))
    assert list(scores.stats) == list(BOX_STATS) and scores["AP"] == scores.evaluator.stats[0]
    same(coco_evaluate(s, read_coco_results(segm_file), "segm"), reference(gt_file, segm_file, "segm"))
    both = dump(tmp_path / "both.json", [r for r in results if "segmentation" in r])
    # mask results with boxes: by default the box is dropped (mask area decides the size range), as in segm.json
    same(coco_evaluate(s, read_coco_results(both), "segm"), reference(gt_file, segm_file, "segm"))
    same(coco_evaluate(s, read_coco_results(both), "segm", mask_area=False), reference(gt_file, both, "segm"))


def test_keypoints_equal_pycocotools(tmp_path):
    gt, _, kp_results = instances(4, n_images=10, keypoints=True)
    gt_file = dump(tmp_path / "person_keypoints_val2017.json", gt)
    res_file = dump(tmp_path / "kp.json", kp_results)
    s = load_coco(gt_file, "val", kind="person_keypoints")
    scores = coco_evaluate(s, read_coco_results(res_file), "keypoints")
    assert list(scores.stats) == list(KEYPOINT_STATS) and len(kp_results) > 10
    same(scores, reference(gt_file, res_file, "keypoints"))


def test_box_numbers_scored_exactly_as_written(tmp_path):
    """[x, y, w, h] -> XYXY -> w = x2 - x1 changes w*h by an ulp: 0.3 + 32 - 0.3 != 32, so a false positive of area
    exactly 32^2 would leave the medium range and APm would read 1.0 instead of pycocotools' 0.5."""
    assert (0.3 + 32.0 - 0.3) * 32.0 != 1024.0  # the trap exists
    gt = {"info": {}, "images": [{"id": 1, "file_name": "a.jpg", "width": 200, "height": 200}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [100, 100, 40, 40], "area": 1600,
                           "iscrowd": 0}],
          "categories": [{"id": 1, "name": "thing"}]}
    res = [{"image_id": 1, "category_id": 1, "bbox": [100, 100, 40, 40], "score": 0.9},
           {"image_id": 1, "category_id": 1, "bbox": [0.3, 0.3, 32, 32], "score": 0.95}]
    gt_file, res_file = dump(tmp_path / "gt.json", gt), dump(tmp_path / "res.json", res)
    scores = coco_evaluate(load_coco(gt_file, "val"), read_coco_results(res_file))
    ref = reference(gt_file, res_file, "bbox")
    same(scores, ref)
    assert scores["APm"] == 0.5
    round_trip = copy.deepcopy(res)
    for r in round_trip:
        x, y, w, h = r["bbox"]
        x2, y2 = x + w, y + h
        r["bbox"] = [x, y, x2 - x, y2 - y]
    assert coco_evaluate(load_coco(gt_file, "val"), round_trip)["APm"] == pytest.approx(1.0)  # the trap


def test_per_class_and_curves_follow_labels(tmp_path):
    gt, results, _ = instances(5)
    gt_file = dump(tmp_path / "instances_val2017.json", gt)
    s = load_coco(gt_file, "val")
    scores = coco_evaluate(s, [{k: v for k, v in r.items() if k != "segmentation"} for r in results])
    rows = scores.per_class()
    assert [r["class"] for r in rows] == ["person", "car", "dog"] == s.classes
    prec = scores.evaluator.eval["precision"]
    for k, r in enumerate(rows):
        p = prec[:, :, k, 0, -1]
        assert r["AP"] == (float(p[p > -1].mean()) if (p > -1).any() else None)
    curves = scores.pr_curves()
    assert len(curves["car"]["precision"]) == 101 and curves["car"]["recall"][-1] == 1.0


def test_no_results_and_bad_results(tmp_path):
    gt, _, _ = instances(6)
    s = load_coco(dump(tmp_path / "instances_val2017.json", gt), "val")
    scores = coco_evaluate(s, [])
    assert scores["AP"] == 0.0 and scores["AR100"] == 0.0
    with pytest.raises(BadInput, match=r"res\.json \(\[0\]\.image_id\): image_id 5 is not an image"):
        coco_evaluate(s, [{"image_id": 5, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}], source="res.json")
    with pytest.raises(BadInput, match="a segm result needs segmentation"):
        coco_evaluate(s, [{"image_id": 100, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}], "segm")


def test_results_round_trip_through_write(tmp_path):
    _, results, _ = instances(7)
    f = tmp_path / "out" / "r.json"
    write_coco_results(f, results)
    assert read_coco_results(f) == results
    with pytest.raises(ValueError, match=r"\[0\]\.score"):
        write_coco_results(f, [{**results[0], "score": float("nan")}])
    assert read_coco_results(f) == results  # the previous file is intact


def test_voc_difficult_objects_are_crowd_regions(tmp_path):
    """VOC ground truth: boxes [xmin-1, ymin-1, xmax, ymax], difficult objects ignored as crowd regions, ids 1..N."""
    from tests.core.vision.test_voc import make_voc, xml

    root = make_voc(tmp_path / "VOC2007", {
        "a": xml([("dog", (10, 10, 60, 60), 0), ("dog", (100, 100, 140, 150), 1), ("cat", (5, 200, 40, 240), 0)]),
        "b": xml([("cat", (1, 1, 90, 90), 1), ("cat", (200, 10, 300, 120), 0)]),
    }, {"val": ["a", "b"]})
    s = load_voc(root, "val")
    cat, dog = s.classes.index("cat") + 1, s.classes.index("dog") + 1
    coco = {"info": {}, "images": [{"id": "a", "file_name": "a.jpg", "width": 500, "height": 375},
                                   {"id": "b", "file_name": "b.jpg", "width": 500, "height": 375}],
            "categories": [{"id": k + 1, "name": n} for k, n in enumerate(s.classes)], "annotations": []}
    for image_id, cid, (x1, y1, x2, y2), crowd in [("a", dog, (9, 9, 60, 60), 0), ("a", dog, (99, 99, 140, 150), 1),
                                                   ("a", cat, (4, 199, 40, 240), 0), ("b", cat, (0, 0, 90, 90), 1),
                                                   ("b", cat, (199, 9, 300, 120), 0)]:
        coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": image_id, "category_id": cid,
                                    "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                                    "iscrowd": crowd})
    res = [{"image_id": "a", "category_id": dog, "bbox": [9.5, 9, 50, 52], "score": 0.9},
           {"image_id": "a", "category_id": dog, "bbox": [100, 100, 40, 50], "score": 0.8},  # on the difficult one
           {"image_id": "b", "category_id": cat, "bbox": [2, 2, 85, 85], "score": 0.95},
           {"image_id": "b", "category_id": cat, "bbox": [150, 9, 100, 111], "score": 0.7},
           {"image_id": "a", "category_id": cat, "bbox": [300, 300, 20, 20], "score": 0.99}]
    gt_file, res_file = dump(tmp_path / "gt.json", coco), dump(tmp_path / "res.json", res)
    scores = coco_evaluate(s, res)
    same(scores, reference(gt_file, res_file, "bbox"))
    assert 0 < scores["AP"] < 1
