"""The batched conversions in front of the COCO evaluator give pycocotools' own objects, byte for byte: polygon
ground truth as RLE (``annToRLE``), mask results' areas and boxes (``loadRes``), the results list and the boxes of
mask results read from a file; and the stats stay pycocotools' on objects of several polygons, bbox-like polygons,
crowd RLE, empty images and boxless mask results."""

from __future__ import annotations

import contextlib
import copy
import io
import json

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from cvkit.contract import DatasetInfo
from cvkit.vision.coco import load_coco
from cvkit.vision.detections import read_results, results_list
from cvkit.vision.evaluate import coco_evaluate, load_results, polygons_to_rle
from cvkit.vision.results import read_coco_results


def _rle(m: np.ndarray) -> dict:
    r = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    return {"size": [int(v) for v in r["size"]], "counts": r["counts"].decode("ascii")}


def dataset() -> tuple[dict, list[dict]]:
    """Two image sizes and an image without objects; single, several, triangle, odd-length and bbox-like (4
    numbers) polygons, uncompressed crowd RLE and compressed RLE; mask results with and without ``bbox``."""
    images = [{"id": 1, "file_name": "a.jpg", "width": 60, "height": 40},
              {"id": 2, "file_name": "b.jpg", "width": 50, "height": 70},
              {"id": 3, "file_name": "c.jpg", "width": 60, "height": 40}]
    crowd = np.zeros((70, 50), np.uint8)
    crowd[10:30, 5:25] = 1
    flat = crowd.T.reshape(-1)
    edges = np.concatenate([[0], np.flatnonzero(np.diff(flat)) + 1, [flat.size]])
    solid = np.zeros((40, 60), bool)
    solid[2:9, 40:55] = True
    segms = [
        (1, [[2.5, 3.0, 20.25, 3.5, 21.0, 18.75, 3.0, 17.0]], 0),
        (1, [[30, 5, 45, 5, 45, 20, 30, 20], [47.5, 22, 58, 22, 58, 35.5], [5, 25, 15, 25, 15, 38, 5, 38]], 0),
        (1, [[10, 10, 20, 30, 12, 33]], 0),  # a triangle
        (1, [[33, 25, 50, 26, 41, 39, 35]], 0),  # odd length
        (1, _rle(solid), 0),
        (2, [[1, 1, 30, 2, 28, 40, 2, 38.5]], 0),
        (2, {"size": [70, 50], "counts": np.diff(edges).tolist()}, 1),
        (2, [[30, 40, 48, 40, 48, 68, 30, 68], [0.5, 50, 10, 50, 10, 60]], 0),
    ]
    anns = []
    for j, (img, segm, iscrowd) in enumerate(segms):
        x, y = (3.0 * j, 2.0 * j)
        anns.append({"id": 10 + j, "image_id": img, "category_id": 1 + j % 2, "bbox": [x, y, 20.0, 15.0],
                     "area": 150.0 + 40 * j, "iscrowd": iscrowd, "segmentation": segm})
    gt = {"info": {}, "licenses": [], "images": images, "annotations": anns,
          "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}
    rng = np.random.default_rng(0)
    results = []
    for im in images:
        h, w = im["height"], im["width"]
        for k in range(6):
            m = np.zeros((h, w), bool)
            x0, y0 = int(rng.integers(0, w - 10)), int(rng.integers(0, h - 10))
            m[y0:y0 + int(rng.integers(3, h - y0)), x0:x0 + int(rng.integers(3, w - x0))] = True
            r = {"image_id": im["id"], "category_id": 1 + k % 2, "segmentation": _rle(m),
                 "score": round(float(rng.random()), 3)}
            if k == 3:
                r["bbox"] = [float(x0), float(y0), 5.0, 5.0]
            results.append(r)
    return gt, results


def test_polygons_to_rle_is_ann_to_rle_byte_for_byte():
    gt, _ = dataset()
    ref = COCO()
    ref.dataset = copy.deepcopy(gt)
    ref.createIndex()
    ours = copy.deepcopy(gt)
    polygons_to_rle(ours)
    after = COCO()
    after.dataset = ours
    after.createIndex()
    for a in gt["annotations"]:
        expected = ref.annToRLE(ref.anns[a["id"]])
        got = after.annToRLE(after.anns[a["id"]])
        assert got == expected, a["id"]
    kept = {a["id"]: a["segmentation"] for a in ours["annotations"]}
    assert isinstance(kept[11]["counts"], bytes) and isinstance(kept[10]["counts"], bytes)
    odd = {"images": gt["images"], "annotations": [{"id": 1, "image_id": 1, "segmentation": [[10, 10, 20, 30]]},
                                                   {"id": 2, "image_id": 1, "segmentation": []}]}
    polygons_to_rle(odd)  # what pycocotools would not take as polygons is left to annToRLE itself
    assert [a["segmentation"] for a in odd["annotations"]] == [[[10, 10, 20, 30]], []]


def test_load_results_is_load_res():
    gt, results = dataset()
    coco_gt = COCO()
    coco_gt.dataset = gt
    coco_gt.createIndex()
    results = [dict(r) for _ in range(50) for r in results]  # more than 255 masks: several area() calls
    with contextlib.redirect_stdout(io.StringIO()):
        ref = coco_gt.loadRes(copy.deepcopy(results))
    ours = load_results(coco_gt, copy.deepcopy(results))
    assert len(ref.anns) == len(ours.anns) == len(results)
    for k, r in ref.anns.items():
        o = ours.anns[k]
        assert list(o) == list(r)
        assert type(o["area"]) is type(r["area"]) and o["area"] == r["area"]
        assert np.asarray(o["bbox"]).dtype == np.asarray(r["bbox"]).dtype
        assert np.array_equal(o["bbox"], r["bbox"]) and o["id"] == r["id"] and o["iscrowd"] == r["iscrowd"]
    assert ours.dataset["categories"] == ref.dataset["categories"] and ours.imgToAnns.keys() == ref.imgToAnns.keys()
    boxes = [{**r, "bbox": r.get("bbox", [1.0, 2.0, 3.0, 4.0])} for r in results]  # box results: loadRes itself
    with contextlib.redirect_stdout(io.StringIO()):
        assert load_results(coco_gt, copy.deepcopy(boxes)).anns == coco_gt.loadRes(copy.deepcopy(boxes)).anns


def test_segm_stats_equal_pycocotools_on_the_files(tmp_path):
    gt, results = dataset()
    gt_file, res_file = tmp_path / "instances_val2017.json", tmp_path / "res.json"
    gt_file.write_text(json.dumps(gt))
    boxless = [{k: v for k, v in r.items() if k != "bbox"} for r in results]
    sizes = {im["id"]: (im["height"], im["width"]) for im in gt["images"]}
    for j, a in enumerate(gt["annotations"]):  # hits: the objects' own masks, one in two of them
        if isinstance(a["segmentation"], list) and j % 2 == 0:
            rle = mask_utils.merge(mask_utils.frPyObjects(a["segmentation"], *sizes[a["image_id"]]))
            boxless.append({"image_id": a["image_id"], "category_id": a["category_id"], "score": 0.5 + j / 100,
                            "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()}})
    res_file.write_text(json.dumps(boxless))
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(gt_file))
        ref = COCOeval(coco_gt, coco_gt.loadRes(str(res_file)), "segm")
        ref.evaluate()
        ref.accumulate()
        ref.summarize()
    aset = load_coco(gt_file, "val", masks=True)
    given = read_coco_results(res_file)
    before = copy.deepcopy(given)
    ours = coco_evaluate(aset, given, "segm")
    assert given == before  # the caller's results are untouched
    assert ours.evaluator.stats.tolist() == ref.stats.tolist()
    for key in ("precision", "recall", "scores"):
        assert np.array_equal(ours.evaluator.eval[key], ref.eval[key])
    assert 0 < ref.stats[0] < 1


def test_results_read_and_listed_as_per_entry_conversions(tmp_path):
    gt, results = dataset()
    res_file = tmp_path / "res.json"
    res_file.write_text(json.dumps(results))
    info = DatasetInfo(name="t", format="coco", spec="t", split="val", classes=["a", "b"],
                       extra={"category_ids": [1, 2]})
    preds = dict(read_results(res_file, info, masks=True))
    by_image: dict = {}
    for r in results:
        by_image.setdefault(r["image_id"], []).append(r)
    for image_id, entries in by_image.items():
        p = preds[str(image_id)]
        expected = [[float(v) for v in r["bbox"]] if "bbox" in r else
                    [float(v) for v in mask_utils.toBbox({"size": r["segmentation"]["size"],
                                                          "counts": r["segmentation"]["counts"].encode()})]
                    for r in entries]
        assert p["bbox_xywh"].tolist() == expected
    listed = results_list([preds["1"], preds["2"]], [1, 2], [1, 2], masks=True)
    want = [{"image_id": i, "category_id": [1, 2][int(p["labels"][k])], "bbox": [float(v) for v in p["bbox_xywh"][k]],
             "score": float(p["scores"][k]), "segmentation": p["masks"][k]}
            for i, p in ((1, preds["1"]), (2, preds["2"])) for k in range(len(p["scores"]))]
    assert listed == want and all(type(v) is float for r in listed for v in r["bbox"])
    plain = {"boxes": np.array([[1.5, 2.25, 7.0, 9.125]]), "scores": np.array([0.5]), "labels": np.array([1])}
    assert results_list([plain], [7], [1, 2])[0]["bbox"] == [1.5, 2.25, 5.5, 6.875]


def test_keypoint_results_load_as_load_res():
    """Keypoint results' boxes and areas (their keypoints' extent), computed per length group at once, equal
    loadRes's per-result numbers: integer and float keypoints, two skeleton lengths, NaN, then the same stats."""
    rng = np.random.default_rng(0)
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 100, "height": 80} for i in (1, 2)]
    cats = [{"id": 1, "name": "person", "keypoints": [f"k{j}" for j in range(4)], "skeleton": []}]
    gt_anns, results = [], []
    for j in range(12):
        xy = rng.uniform(5, 75, (4, 2))
        kp = [v for x, y in xy for v in (float(x), float(y), 2)]
        x0, y0 = xy.min(0)
        w, h = xy.max(0) - xy.min(0)
        gt_anns.append({"id": j + 1, "image_id": 1 + j % 2, "category_id": 1, "keypoints": kp, "num_keypoints": 4,
                        "bbox": [float(x0), float(y0), float(w), float(h)], "area": float(w * h), "iscrowd": 0})
        noisy = [v + (rng.normal(0, 2) if k % 3 < 2 else 0) for k, v in enumerate(kp)]
        results.append({"image_id": 1 + j % 2, "category_id": 1, "score": float(rng.uniform()),
                        "keypoints": [round(v) for v in noisy] if j % 3 == 0 else noisy})
    results.append({"image_id": 1, "category_id": 1, "score": 0.1, "keypoints": [1, 2, 1, 5, 9, 1]})  # shorter
    results.append({"image_id": 2, "category_id": 1, "score": 0.2, "keypoints": [1.0, float("nan"), 1] * 4})
    coco_gt = COCO()
    coco_gt.dataset = {"images": images, "annotations": gt_anns, "categories": cats}
    coco_gt.createIndex()
    with contextlib.redirect_stdout(io.StringIO()):
        ref = coco_gt.loadRes(copy.deepcopy(results))
    ours = load_results(coco_gt, copy.deepcopy(results))
    for k, r in ref.anns.items():
        o = ours.anns[k]
        assert list(o) == list(r) and o["id"] == r["id"]
        assert np.array_equal([o["area"], *o["bbox"]], [r["area"], *r["bbox"]], equal_nan=True)
    assert ours.dataset["categories"] == ref.dataset["categories"] and ours.imgToAnns.keys() == ref.imgToAnns.keys()
    regular = results[:-2]  # equal-length skeletons for the evaluation itself
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco_gt, coco_gt.loadRes(copy.deepcopy(regular)), "keypoints")
        ev.params.kpt_oks_sigmas = np.full(4, 0.05)
        ev.evaluate(), ev.accumulate(), ev.summarize()
        mine = COCOeval(coco_gt, load_results(coco_gt, copy.deepcopy(regular)), "keypoints")
        mine.params.kpt_oks_sigmas = np.full(4, 0.05)
        mine.evaluate(), mine.accumulate(), mine.summarize()
    assert list(mine.stats) == list(ev.stats) and ev.stats[0] > 0
