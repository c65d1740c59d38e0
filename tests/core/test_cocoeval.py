"""FastCOCOeval against pycocotools' COCOeval on the same files: ious, evalImgs, eval arrays and stats all ``==``."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from cvkit.metrics.cocoeval import FastCOCOeval

H, W = 120, 160


def same(a, b) -> bool:
    """Exact equality, arrays included (shape, dtype and every value); NaN equals NaN."""
    if a is None or b is None:
        return a is b
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    return type(a) is type(b) and a == b


def run(cls, gt_file: Path, res_file: Path | None, iou_type: str, setup=None, accumulate_p=None):
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_file))
        if res_file is None:
            dt = COCO()
            dt.dataset = {"images": gt.dataset["images"], "categories": gt.dataset["categories"], "annotations": []}
            dt.createIndex()
        else:
            dt = gt.loadRes(str(res_file))
        ev = cls(gt, dt, iou_type)
        if setup:
            setup(ev.params)
        ev.evaluate()
        ev.accumulate(accumulate_p(ev.params) if accumulate_p else None)
        if accumulate_p is None:
            ev.summarize()
    return ev


def check(tmp_path: Path, gt: dict, results: list | None, iou_type: str, setup=None, accumulate_p=None,
          vectorised: bool = True):
    gt_file = tmp_path / "gt.json"
    gt_file.write_text(json.dumps(gt))
    res_file = None
    if results is not None:
        res_file = tmp_path / "res.json"
        res_file.write_text(json.dumps(results))
    ref = run(COCOeval, gt_file, res_file, iou_type, setup, accumulate_p)
    ours = run(FastCOCOeval, gt_file, res_file, iou_type, setup, accumulate_p)
    assert (ours._layout is not None) == vectorised  # the vectorised path ran (or, for NaN, the reference one)
    assert list(ref.ious) == list(ours.ious)
    bad = [k for k in ref.ious if not same(ref.ious[k], ours.ious[k])]
    assert not bad, f"ious differ at {bad[:3]}"
    assert len(ref.evalImgs) == len(ours.evalImgs)
    bad = [i for i, (r, o) in enumerate(zip(ref.evalImgs, ours.evalImgs, strict=True)) if not same(r, o)]
    assert not bad, f"evalImgs differ at {bad[:3]}: {ref.evalImgs[bad[0]]} != {ours.evalImgs[bad[0]]}"
    for key in ("precision", "recall", "scores"):
        assert same(ref.eval[key], ours.eval[key]), key
    assert ref.eval["counts"] == ours.eval["counts"]
    assert same(np.asarray(ref.stats), np.asarray(ours.stats))
    return ref, ours


def categories(ids) -> list[dict]:
    return [{"id": c, "name": f"c{c}", "supercategory": "x"} for c in ids]


def random_box(rng: np.random.Generator) -> list[float]:
    kind = rng.integers(4)
    size = [rng.uniform(0.5, 4), rng.uniform(8, 30), rng.uniform(30, 90), rng.uniform(90, 400)][kind]
    w, h = size * rng.uniform(0.6, 1.4, 2)
    return [float(rng.uniform(-10, W)), float(rng.uniform(-10, H)), float(w), float(h)]


def bbox_case(seed: int, n_images: int = 14) -> tuple[dict, list]:
    rng = np.random.default_rng(seed)
    cats = [1, 4, 7, 11]  # 11 has detections but never ground truth
    images, anns, results = [], [], []
    for i in range(n_images):
        image_id = 5 + 3 * i
        images.append({"id": image_id, "file_name": f"{image_id}.jpg", "height": H, "width": W})
        if i == n_images - 1:
            continue  # nothing at all
        for _ in range(0 if i % 5 == 0 else int(rng.integers(1, 8))):  # some images: detections, no ground truth
            box, cat = random_box(rng), int(rng.choice(cats[:3]))
            copies = 2 if rng.random() < 0.15 else 1  # identical ground truth: ties in IoU
            for _ in range(copies):
                anns.append({"id": len(anns) + 1, "image_id": image_id, "category_id": cat, "bbox": box,
                             "area": float(box[2] * box[3] * rng.uniform(0.4, 1.0)),
                             "iscrowd": int(rng.random() < 0.12), "segmentation": []})
            for _ in range(int(rng.integers(0, 5))):
                jit = rng.normal(0, 0.08, 4) * [box[2], box[3], box[2], box[3]]
                det = [box[0] + jit[0], box[1] + jit[1], max(0.3, box[2] + jit[2]), max(0.3, box[3] + jit[3])]
                score = float(np.round(rng.random(), 1))  # ties in score
                for _ in range(2 if rng.random() < 0.2 else 1):  # duplicate detections
                    results.append({"image_id": image_id, "category_id": cat, "bbox": [float(v) for v in det],
                                    "score": score})
        for _ in range(int(rng.integers(0, 5))):
            results.append({"image_id": image_id, "category_id": int(rng.choice(cats)), "bbox": random_box(rng),
                            "score": float(np.round(rng.random(), 2))})
    # one cell with more detections than maxDets, around its ground truth
    box = [20.0, 20.0, 60.0, 40.0]
    anns.append({"id": len(anns) + 1, "image_id": 8, "category_id": 4, "bbox": box, "area": 2400.0, "iscrowd": 0})
    for _ in range(130):
        jit = rng.normal(0, 5, 4)
        results.append({"image_id": 8, "category_id": 4, "score": float(np.round(rng.random(), 2)),
                        "bbox": [box[0] + jit[0], box[1] + jit[1], box[2] + jit[2], box[3] + jit[3]]})
    # a crowded cell: 25 heavily overlapping objects (some crowd), 90 detections competing for them
    for _ in range(25):
        box = [float(30 + rng.uniform(0, 20)), float(30 + rng.uniform(0, 20)), float(rng.uniform(20, 40)), 30.0]
        anns.append({"id": len(anns) + 1, "image_id": 14, "category_id": 1, "bbox": box, "area": box[2] * box[3],
                     "iscrowd": int(rng.random() < 0.1)})
    for _ in range(90):
        results.append({"image_id": 14, "category_id": 1, "score": float(np.round(rng.random(), 1)), "bbox": [
            float(30 + rng.uniform(0, 20)), float(30 + rng.uniform(0, 20)), float(rng.uniform(20, 40)), 30.0]})
    # IoU exactly on thresholds (0.5, 0.75, 0.8): 10x20 ground truth, detections cut to a fraction of its width
    for frac in (0.5, 0.75, 0.8):
        anns.append({"id": len(anns) + 1, "image_id": 11, "category_id": 7, "bbox": [0.0, 0.0, 20.0, 10.0],
                     "area": 200.0, "iscrowd": 0})
        results.append({"image_id": 11, "category_id": 7, "bbox": [0.0, 0.0, 20.0 * frac, 10.0], "score": 0.5})
    return {"info": {}, "images": images, "annotations": anns, "categories": categories(cats)}, results


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_bbox_matches_pycocotools(tmp_path: Path, seed: int) -> None:
    gt, results = bbox_case(seed)
    ref, _ = check(tmp_path, gt, results, "bbox")
    assert ref.stats[0] > 0  # a real evaluation, not all -1


def test_bbox_use_cats_0(tmp_path: Path) -> None:
    gt, results = bbox_case(5)
    check(tmp_path, gt, results, "bbox", setup=lambda p: setattr(p, "useCats", 0))


def test_bbox_custom_max_dets_area_ranges_and_subsets(tmp_path: Path) -> None:
    gt, results = bbox_case(6)

    def setup(p) -> None:
        p.maxDets = [20, 2, 5]  # unsorted on purpose: evaluate sorts them
        p.areaRng = [[0, 1e10], [0, 20**2], [20**2, 70**2], [70**2, 1e10]]
        p.imgIds = p.imgIds[2:]
        p.catIds = [11, 4, 1]

    check(tmp_path, gt, results, "bbox", setup=setup)


def test_bbox_accumulate_with_other_params_falls_back(tmp_path: Path) -> None:
    gt, results = bbox_case(7)

    def other(p):
        q = COCOeval(iouType="bbox").params
        q.imgIds, q.catIds, q.maxDets = list(p.imgIds), list(p.catIds)[:2], [1, 10, 100]
        return q

    check(tmp_path, gt, results, "bbox", accumulate_p=other)


def test_no_detections_at_all(tmp_path: Path) -> None:
    gt, _ = bbox_case(8)
    check(tmp_path, gt, None, "bbox")


def rle_counts(mask: np.ndarray) -> list[int]:
    """Uncompressed COCO RLE: column-major run lengths, starting with a run of zeros."""
    flat = mask.ravel(order="F").astype(np.int8)
    change = np.flatnonzero(np.diff(flat, prepend=0))
    return np.diff(np.concatenate(([0], change, [flat.size]))).tolist()


def blob(rng: np.random.Generator, cx: float, cy: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    rx, ry = r * rng.uniform(0.6, 1.4, 2)
    return (((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1).astype(np.uint8)


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools' mask.decode
def test_segm_polygons_rle_and_crowd(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    images, anns, results = [], [], []
    for i in range(10):
        images.append({"id": i + 1, "file_name": f"{i}.jpg", "height": H, "width": W})
        for j in range(int(rng.integers(0, 6))):
            cx, cy, r = rng.uniform(10, W - 10), rng.uniform(10, H - 10), rng.uniform(2, 40)
            cat = int(rng.integers(1, 3))
            crowd = int(rng.random() < 0.15)
            m = blob(rng, cx, cy, r)
            if crowd:
                seg = {"counts": rle_counts(m), "size": [H, W]}
            elif j % 2:
                seg = [[cx - r, cy - r, cx + r, cy - r * 0.5, cx + r * 0.3, cy + r, cx - r * 0.8, cy + r * 0.6]]
                m = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(seg, H, W)))
            else:
                enc = mask_utils.encode(np.asfortranarray(m))
                seg = {"counts": enc["counts"].decode(), "size": [H, W]}
            if m.sum() == 0:
                continue
            box = mask_utils.toBbox(mask_utils.encode(np.asfortranarray(m))).tolist()
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": cat, "segmentation": seg,
                         "area": float(m.sum()), "bbox": box, "iscrowd": crowd})
            for _ in range(int(rng.integers(0, 4))):
                dm = blob(rng, cx + rng.normal(0, 3), cy + rng.normal(0, 3), r * rng.uniform(0.8, 1.2))
                enc = mask_utils.encode(np.asfortranarray(dm))
                results.append({"image_id": i + 1, "category_id": cat, "score": float(np.round(rng.random(), 1)),
                                "segmentation": {"counts": enc["counts"].decode(), "size": [H, W]}})
        for _ in range(int(rng.integers(0, 3))):
            enc = mask_utils.encode(np.asfortranarray(blob(rng, rng.uniform(0, W), rng.uniform(0, H), 15)))
            results.append({"image_id": i + 1, "category_id": int(rng.integers(1, 3)), "score": float(rng.random()),
                            "segmentation": {"counts": enc["counts"].decode(), "size": [H, W]}})
    gt = {"info": {}, "images": images, "annotations": anns, "categories": categories([1, 2])}
    assert any(a["iscrowd"] for a in anns) and any(isinstance(a["segmentation"], list) for a in anns)
    check(tmp_path, gt, results, "segm")


def keypoint_case(seed: int, k: int = 17) -> tuple[dict, list]:
    rng = np.random.default_rng(seed)
    images, anns, results = [], [], []
    for i in range(10):
        images.append({"id": i + 1, "file_name": f"{i}.jpg", "height": H, "width": W})
        for j in range(int(rng.integers(0, 6))):
            x, y = rng.uniform(0, W - 40), rng.uniform(0, H - 60)
            w, h = rng.uniform(5, 40), rng.uniform(10, 60)
            pts = np.stack([rng.uniform(x, x + w, k), rng.uniform(y, y + h, k), rng.integers(0, 3, k)], 1)
            if j == 0:
                pts[:, 2] = 0  # nobody visible: num_keypoints 0, ignored
            num = int(np.count_nonzero(pts[:, 2] > 0))
            if j == 1 and i % 3 == 0:
                pts[:, 2], num = 0, 3  # claims keypoints but none is labelled: OKS from the box extent
            pts[pts[:, 2] == 0, :2] = 0
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 1, "keypoints": pts.ravel().tolist(),
                         "num_keypoints": num, "bbox": [x, y, w, h], "area": float(w * h * rng.uniform(0.3, 5)),
                         "iscrowd": int(rng.random() < 0.1)})
            for _ in range(int(rng.integers(0, 4))):
                d = pts.copy()
                d[:, :2] = np.stack([rng.uniform(x, x + w, k), rng.uniform(y, y + h, k)], 1) * 0.3 + d[:, :2] * 0.7
                d[:, 2] = 1
                results.append({"image_id": i + 1, "category_id": 1, "keypoints": d.ravel().tolist(),
                                "score": float(np.round(rng.random(), 1))})
        for _ in range(int(rng.integers(0, 3))):
            d = np.stack([rng.uniform(0, W, k), rng.uniform(0, H, k), np.ones(k)], 1)
            results.append({"image_id": i + 1, "category_id": 1, "keypoints": d.ravel().tolist(),
                            "score": float(rng.random())})
    return {"info": {}, "images": images, "annotations": anns, "categories": categories([1])}, results


@pytest.mark.parametrize("seed", [0, 1])
def test_keypoints_matches_pycocotools(tmp_path: Path, seed: int) -> None:
    gt, results = keypoint_case(seed)
    check(tmp_path, gt, results, "keypoints")


def test_keypoints_custom_sigmas_and_use_cats_0(tmp_path: Path) -> None:
    gt, results = keypoint_case(3, k=16)

    def setup(p) -> None:
        p.kpt_oks_sigmas = np.full(16, 0.07)

    check(tmp_path, gt, results, "keypoints", setup=setup)
    check(tmp_path, gt, results, "keypoints", setup=lambda p: (setup(p), setattr(p, "useCats", 0)))


def test_nan_oks_uses_the_reference_loops(tmp_path: Path) -> None:
    gt, results = keypoint_case(4)
    results[0]["keypoints"][0] = float("nan")
    check(tmp_path, gt, results, "keypoints", vectorised=False)


def test_nan_scores(tmp_path: Path) -> None:
    gt, results = bbox_case(9)
    for r in results[::7]:
        r["score"] = float("nan")
    check(tmp_path, gt, results, "bbox")
