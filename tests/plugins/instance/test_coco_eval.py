"""COCO segm and bbox AP: our evaluator on loader-parsed ground truth equals pycocotools run directly on the files
(polygons, compressed RLE, crowd regions as uncompressed RLE, images without objects or detections, no results)."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from cvkit.vision.evaluate import BOX_STATS as STAT_NAMES
from cvkit_instance.datasets.coco import CocoInstanceFormat
from cvkit_instance.metrics.evaluator import InstanceEvaluator
from tests.plugins.instance.fixtures import uncompressed_rle

CAT_IDS = [3, 7, 12]  # non-contiguous on purpose
H, W = 160, 200


def rle_of(mask: np.ndarray) -> dict:
    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in r["size"]], "counts": r["counts"].decode("ascii")}


def blob(rng: np.random.Generator) -> tuple[np.ndarray, list[float] | None]:
    """A random ellipse mask (returned as RLE) or polygon; sizes cover COCO's small, medium and large ranges."""
    m = np.zeros((H, W), np.uint8)
    cx, cy = rng.uniform(10, W - 10), rng.uniform(10, H - 10)
    rx, ry = rng.uniform(3, 95), rng.uniform(3, 80)
    if rng.random() < 0.5:
        yy, xx = np.mgrid[:H, :W]
        m[((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1] = 1
        return m, None
    k = int(rng.integers(3, 7))
    ang = np.sort(rng.uniform(0, 2 * np.pi, k))
    poly = np.stack([np.clip(cx + rx * np.cos(ang), 0, W), np.clip(cy + ry * np.sin(ang), 0, H)], 1)
    poly = (np.round(poly * 2) / 2).ravel().tolist()
    m = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([poly], H, W)))
    return m, poly


def random_case(rng: np.random.Generator, n_images: int = 7, no_results: bool = False):
    images, anns, results = [], [], []
    for i in range(n_images):
        image_id = 100 + 7 * i
        images.append({"id": image_id, "file_name": f"{image_id:06d}.jpg", "height": H, "width": W})
        for _ in range(int(rng.integers(0, 6))):
            m, poly = blob(rng)
            if m.sum() == 0:
                continue
            crowd = rng.random() < 0.15
            segm = {"size": [H, W], "counts": uncompressed_rle(m)} if crowd else ([poly] if poly else rle_of(m))
            bbox = [float(v) for v in mask_utils.toBbox(mask_utils.encode(np.asfortranarray(m)))]
            cat = int(rng.choice(CAT_IDS))
            anns.append({"id": len(anns) + 1, "image_id": image_id, "category_id": cat, "iscrowd": int(crowd),
                         "bbox": bbox, "area": float(m.sum()), "segmentation": segm})
            for _ in range(int(rng.integers(0, 3))):  # noisy detections of this object
                shifted = np.roll(m, (int(rng.integers(-6, 7)), int(rng.integers(-6, 7))), (0, 1))
                box = [bbox[0] + rng.integers(-4, 5) / 2, bbox[1] + rng.integers(-4, 5) / 2, bbox[2], bbox[3]]
                results.append({"image_id": image_id, "category_id": cat if rng.random() < 0.8 else
                                int(rng.choice(CAT_IDS)), "score": float(np.round(rng.random(), 2)),
                                "bbox": box, "segmentation": rle_of(shifted)})
        for _ in range(int(rng.integers(0, 3))):  # false positives
            m, _ = blob(rng)
            results.append({"image_id": image_id, "category_id": int(rng.choice(CAT_IDS)), "score": float(rng.random()),
                            "bbox": [float(v) for v in mask_utils.toBbox(mask_utils.encode(np.asfortranarray(m)))],
                            "segmentation": rle_of(m)})
    if anns and not any(a["iscrowd"] for a in anns):  # always at least one crowd region
        a = anns[0]
        m = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(a["segmentation"], H, W))
                              if isinstance(a["segmentation"], list) else a["segmentation"])
        a["iscrowd"], a["segmentation"] = 1, {"size": [H, W], "counts": uncompressed_rle(m)}
    cats = [{"id": c, "name": f"c{c}", "supercategory": "x"} for c in CAT_IDS]
    gt = {"info": {}, "licenses": [], "images": images, "annotations": anns, "categories": cats}
    return gt, ([] if no_results else results)


def reference(gt_file, results, iou_type):
    """pycocotools alone: mask results without their bbox (so areas come from the masks), box results without
    masks; no results at all evaluated as an empty result set."""
    keep = ("image_id", "category_id", "score", "segmentation" if iou_type == "segm" else "bbox")
    res = [{k: r[k] for k in keep} for r in results]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_file))
        if res:
            dt = gt.loadRes(res)
        else:
            dt = COCO()
            dt.dataset = {"images": gt.dataset["images"], "categories": gt.dataset["categories"], "annotations": []}
            dt.createIndex()
        ev = COCOeval(gt, dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {f"{iou_type}_{n}": float(v) for n, v in zip(STAT_NAMES, ev.stats, strict=True)}


def ours(gt_file, results, metric=None):
    raw = CocoInstanceFormat().load(gt_file, "val", {})
    index = {c: i for i, c in enumerate(raw.info.extra["category_ids"])}
    preds = []
    for t in raw.targets:
        mine = [r for r in results if r["image_id"] == t["image_id"]]
        preds.append({
            "boxes": np.array([[r["bbox"][0], r["bbox"][1], r["bbox"][0] + r["bbox"][2], r["bbox"][1] + r["bbox"][3]]
                               for r in mine], np.float64).reshape(-1, 4),
            "scores": np.array([r["score"] for r in mine]), "labels": np.array([index[r["category_id"]] for r in mine]),
            "masks": [r["segmentation"] for r in mine]})
    ev = InstanceEvaluator(raw.info, metric)
    ev.update(range(len(preds)), preds, raw.targets)
    return ev.compute(), ev


@pytest.mark.parametrize("seed", range(4))
def test_segm_and_bbox_equal_pycocotools(tmp_path, seed):
    rng = np.random.default_rng(seed)
    gt, results = random_case(rng, no_results=seed == 3)
    assert any(a["iscrowd"] for a in gt["annotations"])
    f = tmp_path / "gt.json"
    f.write_text(json.dumps(gt))
    got, ev = ours(f, results)
    assert got == {**reference(f, results, "segm"), **reference(f, results, "bbox")}
    if seed != 3:
        assert got["segm_AP"] > 0 and got["segm_AP"] != got["bbox_AP"]
    assert ev.primary == "segm_AP50" and len(ev.details()["per_class_segm"]) == 3
    for kind in ("segm", "bbox"):  # --metric segm / bbox: one of the two, the same numbers, half the work
        alone, ev = ours(f, results, kind)
        assert alone == {k: v for k, v in got.items() if k.startswith(kind + "_")} and ev.primary == f"{kind}_AP50"
        assert [k for k in ev.details() if k.startswith("per_class")] == [f"per_class_{kind}"]


def test_state_merge(tmp_path):
    gt, results = random_case(np.random.default_rng(11))
    f = tmp_path / "gt.json"
    f.write_text(json.dumps(gt))
    whole, ev = ours(f, results)
    a, b = InstanceEvaluator(ev.info), InstanceEvaluator(ev.info)
    items = sorted(ev.items.items())
    for k, (p, t) in items[:3]:
        a.update([k], [p], [t])
    for k, (p, t) in items[3:]:
        b.update([k], [p], [t])
    merged = InstanceEvaluator(ev.info)
    merged.merge([a.state(), b.state()])
    assert merged.compute() == whole
