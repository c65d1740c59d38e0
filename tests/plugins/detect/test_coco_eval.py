"""COCO metrics: our evaluator on loader-parsed ground truth equals pycocotools run directly on the files."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from cvkit.vision.evaluate import BOX_STATS as STAT_NAMES
from cvkit_detect.datasets.coco import CocoFormat
from cvkit_detect.metrics.evaluator import DetectionEvaluator

CAT_IDS = [3, 7, 12]  # non-contiguous on purpose


def random_coco(rng: np.random.Generator, n_images: int = 8):
    images, anns, results = [], [], []
    for i in range(n_images):
        image_id = 100 + 7 * i  # not 1..N either
        images.append({"id": image_id, "file_name": f"{image_id:06d}.jpg", "height": 200, "width": 300})
        for _ in range(int(rng.integers(0, 6))):  # some images get no annotation at all
            x, y = rng.uniform(0, 250), rng.uniform(0, 150)
            w, h = rng.uniform(2, 120), rng.uniform(2, 100)
            crowd = int(rng.random() < 0.1)
            area = float(w * h * rng.uniform(0.5, 1.0))  # mask area, not box area: decides s/m/l
            anns.append({"id": len(anns) + 1, "image_id": image_id, "category_id": int(rng.choice(CAT_IDS)),
                         "bbox": [x, y, w, h], "area": area, "iscrowd": crowd, "segmentation": []})
            for _ in range(int(rng.integers(0, 3))):  # noisy detections of this object
                j = rng.normal(0, 6, 4)
                cat = anns[-1]["category_id"] if rng.random() < 0.8 else int(rng.choice(CAT_IDS))
                results.append({"image_id": image_id, "category_id": cat, "score": float(np.round(rng.random(), 2)),
                                "bbox": [x + j[0], y + j[1], max(1.0, w + j[2]), max(1.0, h + j[3])]})
        for _ in range(int(rng.integers(0, 4))):  # false positives
            results.append({"image_id": image_id, "category_id": int(rng.choice(CAT_IDS)), "score": float(rng.random()),
                            "bbox": [rng.uniform(0, 250), rng.uniform(0, 150), rng.uniform(2, 80), rng.uniform(2, 80)]})
    cats = [{"id": c, "name": f"c{c}", "supercategory": "x"} for c in CAT_IDS]
    return {"info": {}, "licenses": [], "images": images, "annotations": anns, "categories": cats}, results


def reference_stats(gt_file, results):
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_file))
        ev = COCOeval(gt, gt.loadRes(results), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return dict(zip(STAT_NAMES, (float(v) for v in ev.stats), strict=True))


def ours(gt_file, results):
    raw = CocoFormat().load(gt_file, "val", {})
    ev = DetectionEvaluator(raw.info, "coco")
    index = {c: i for i, c in enumerate(raw.info.extra["category_ids"])}
    by_image = {im_id: [] for im_id in (t["image_id"] for t in raw.targets)}
    for r in results:
        by_image[r["image_id"]].append(r)
    for i, t in enumerate(raw.targets):
        rs = by_image[t["image_id"]]
        boxes = np.array([[r["bbox"][0], r["bbox"][1], r["bbox"][0] + r["bbox"][2], r["bbox"][1] + r["bbox"][3]]
                          for r in rs]).reshape(-1, 4)
        pred = {"boxes": boxes, "scores": np.array([r["score"] for r in rs]),
                "labels": np.array([index[r["category_id"]] for r in rs], dtype=np.int64)}
        ev.update([i], [pred], [t])
    return ev.compute(), ev


@pytest.mark.parametrize("seed", range(6))
def test_coco_equals_pycocotools(tmp_path, seed):
    gt, results = random_coco(np.random.default_rng(seed))
    f = tmp_path / "instances_val2017.json"
    f.write_text(json.dumps(gt))
    expected = reference_stats(f, results)
    got, ev = ours(f, results)
    # every digit: the same pycocotools computation on the same numbers
    assert got == expected
    assert ev.primary == "AP50"
    rows = ev.details()["per_class"]
    assert [r["class"] for r in rows] == ["c3", "c7", "c12"]


def test_coco_exact_on_integer_boxes(tmp_path):
    # integer boxes survive the xywh -> xyxy -> xywh round trip exactly: every digit must agree
    rng = np.random.default_rng(42)
    gt, results = random_coco(rng, 12)
    for a in gt["annotations"]:
        a["bbox"] = [float(round(v)) for v in a["bbox"]]
    for r in results:
        r["bbox"] = [float(round(v)) for v in r["bbox"]]
    f = tmp_path / "gt.json"
    f.write_text(json.dumps(gt))
    got, _ = ours(f, results)
    assert got == reference_stats(f, results)


def test_no_detections(tmp_path):
    gt, _ = random_coco(np.random.default_rng(1))
    f = tmp_path / "gt.json"
    f.write_text(json.dumps(gt))
    got, _ = ours(f, [])
    assert got["AP"] == 0.0 and got["AP50"] == 0.0 and got["AR100"] == 0.0
    assert set(got) == set(STAT_NAMES)


def test_results_file_scored_with_its_boxes_as_written(tmp_path):
    # [0.3, y, 32, 32] has w * h = 1024 exactly: inside both the small and the medium range (bounds inclusive).
    # Through XYXY and back, w = (0.3 + 32) - 0.3 = 31.999999999999996 and the area one ulp under 1024: the
    # unmatched detection d2 would leave the medium range and APm would be 1.0 instead of pycocotools' 0.5.
    from cvkit.engine.evaluate import evaluate_predictions
    from cvkit.plugin import get_task

    gt = {"info": {}, "licenses": [], "categories": [{"id": 1, "name": "a"}],
          "images": [{"id": 1, "file_name": "000001.jpg", "height": 100, "width": 100}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0.3, 0, 32, 32], "area": 1024.0,
                           "iscrowd": 0}]}
    results = [{"image_id": 1, "category_id": 1, "bbox": [0.3, 0, 32, 32], "score": 0.9},
               {"image_id": 1, "category_id": 1, "bbox": [0.3, 50, 32, 32], "score": 0.95}]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(results))
    assert (0.3 + 32) - 0.3 != 32
    task = get_task("detect")
    raw = task.formats()["coco"].load(tmp_path / "gt.json", "val", {})
    got = evaluate_predictions(task, raw, tmp_path / "res.json", "coco").metrics
    ref = reference_stats(tmp_path / "gt.json", results)
    assert ref["APm"] == 0.5 and ref["APs"] == 0.5
    assert got == ref
