"""COCO box evaluation: ``FastCOCOeval`` against pycocotools' ``COCOeval`` on 1,000 images / ~20,000 detections.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/coco_eval.py [--quick] [--repeats N] [--seed S]

Both sides run the whole evaluation (``loadRes`` + ``evaluate`` + ``accumulate`` + ``summarize``) on the same
generated data, interleaved, best of N each; the results must be identical (every ``evalImgs`` entry, every IoU
matrix, ``eval["precision"]`` / ``["recall"]`` / ``["scores"]`` and the 12 stats, compared with ``==``) or the
script exits with status 1. Prints one row: measure, ours (s), pycocotools (s), ratio, target, pass/fail.
``measure(quick)`` returns the same row as a dict (the fields of ``speed.py``'s ``Row``).

Whole-process rows (``measure_process(n_images)``; 500 and 5,000 images, ~10k and ~100k detections; ``--quick``:
500 only): ``cvkit eval detect --data coco:GT.json --predictions RES.json`` against a plain pycocotools script on
the same files, wall time of each process including its imports; the 12 stats must be equal. The same for
``segm`` (``cvkit eval instance --metric segm``, mask AP alone as the script computes it; boxes as polygons and
RLEs) and ``keypoints`` (``cvkit eval pose --metric oks``
on a ``person_keypoints`` file, 17 COCO keypoints; the 10 stats). Rows print as a Markdown table (value, baseline,
ratio, target, pass/miss)."""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET = 0.5


def make_case(seed: int = 0, n_images: int = 1000, n_cats: int = 20) -> tuple[dict, list[dict]]:
    """Ground truth (~8 boxes per 640x480 image, 1% crowd, sizes 4-300 px) and detections: 0-3 jittered copies
    of each object (10% with the wrong class) plus ~8 random false positives per image; scores to 3 decimals."""
    rng = np.random.default_rng(seed)
    width, height = 640, 480
    cats = list(range(1, n_cats + 1))
    images, anns, results = [], [], []
    for i in range(1, n_images + 1):
        images.append({"id": i, "file_name": f"{i:06d}.jpg", "width": width, "height": height})
        for _ in range(int(rng.poisson(8))):
            w, h = np.exp(rng.uniform(np.log(4), np.log(300), 2))
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            cat = int(rng.choice(cats))
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": cat, "bbox": [x, y, w, h],
                         "area": float(w * h), "iscrowd": int(rng.random() < 0.01), "segmentation": []})
            for _ in range(int(rng.integers(0, 4))):
                j = rng.normal(0, 0.05, 4) * [w, h, w, h]
                results.append({"image_id": i, "category_id": cat if rng.random() < 0.9 else int(rng.choice(cats)),
                                "bbox": [x + j[0], y + j[1], max(1.0, w + j[2]), max(1.0, h + j[3])],
                                "score": float(np.round(rng.random(), 3))})
        for _ in range(int(rng.poisson(8))):
            w, h = np.exp(rng.uniform(np.log(4), np.log(300), 2))
            box = [rng.uniform(0, width - w), rng.uniform(0, height - h), w, h]
            results.append({"image_id": i, "category_id": int(rng.choice(cats)), "bbox": box,
                            "score": float(np.round(rng.random(), 3))})
    gt = {"info": {}, "images": images, "annotations": anns,
          "categories": [{"id": c, "name": f"class{c}"} for c in cats]}
    return gt, results


def timed(cls: type, gt: dict, results: list[dict]) -> tuple[float, Any]:
    """Seconds for loadRes + evaluate + accumulate + summarize, on fresh copies (copying is not timed)."""
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        res = copy.deepcopy(results)
        start = time.perf_counter()
        ev = cls(coco_gt, coco_gt.loadRes(res), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        took = time.perf_counter() - start
    return took, ev


def identical(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def differences(ref: Any, ours: Any) -> list[str]:
    out = []
    if list(ref.ious) != list(ours.ious) or not all(identical(ref.ious[k], ours.ious[k]) for k in ref.ious):
        out.append("ious")
    if not identical(ref.evalImgs, ours.evalImgs):
        out.append("evalImgs")
    out += [k for k in ("precision", "recall", "scores") if not identical(ref.eval[k], ours.eval[k])]
    if not identical(np.asarray(ref.stats), np.asarray(ours.stats)):
        out.append("stats")
    return out


def measure(quick: bool = False, repeats: int = 3, seed: int = 0) -> dict[str, Any]:
    """The benchmark row (``speed.py`` ``Row`` fields); raises ``AssertionError`` if any result differs."""
    from pycocotools.cocoeval import COCOeval

    from cvkit.metrics.cocoeval import FastCOCOeval

    gt, results = make_case(seed, n_images=200 if quick else 1000)
    ref_t, ours_t = [], []
    for _ in range(repeats):  # interleaved, so that both sides see the same load on a shared machine
        t, ref = timed(COCOeval, gt, results)
        ref_t.append(t)
        t, ours = timed(FastCOCOeval, gt, results)
        ours_t.append(t)
    diff = differences(ref, ours)
    assert not diff, f"FastCOCOeval differs from pycocotools in: {', '.join(diff)}"
    best, base = min(ours_t), min(ref_t)
    return {"measure": f"COCO eval {len(gt['images']):,} images / {len(results):,} detections (s)",
            "value": best, "baseline": base, "ratio": best / base, "target": f"<= {TARGET} x pycocotools",
            "ok": best / base <= TARGET, "note": f"identical results; AP {ref.stats[0]:.4f}"}


PROCESS_TARGETS = {5000: 0.5, 500: 1.0}  # whole `cvkit eval --predictions` against a whole pycocotools script
PYCOCOTOOLS_SCRIPT = """
import json, sys
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
gt = COCO(sys.argv[1])
ev = COCOeval(gt, gt.loadRes(sys.argv[2]), sys.argv[3])
ev.evaluate()
ev.accumulate()
ev.summarize()
print("STATS " + json.dumps([float(v) for v in ev.stats]))
"""


def _wall(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd[:4])} ... failed: {proc.stderr.strip()[-400:]}")
    return took, proc.stdout


def with_masks(gt: dict, results: list[dict]) -> tuple[dict, list[dict]]:
    """The case for ``segm``: every box as a polygon (ground truth) or a compressed RLE (results, without ``bbox``:
    pycocotools then takes a result's area from its mask, as cvkit does for ``segm``)."""
    from pycocotools import mask as mask_utils

    def polygon(b: list[float]) -> list[float]:
        x, y, w, h = b
        return [x, y, x + w, y, x + w, y + h, x, y + h]

    for a in gt["annotations"]:
        a["segmentation"] = [polygon(a["bbox"])]
    for r in results:
        rle = mask_utils.frPyObjects([polygon(r["bbox"])], 480, 640)[0]
        r["segmentation"] = {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}
        del r["bbox"]
    return gt, results


KEYPOINT_NAMES = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                  "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                  "right_knee", "left_ankle", "right_ankle"]


def make_keypoint_case(seed: int = 0, n_images: int = 500) -> tuple[dict, list[dict]]:
    """Person keypoints: ~4 people per 640x480 image (17 keypoints, ~30% unlabelled, 1% crowd) and ~14 keypoint
    results per image (0-3 jittered copies of each person, ~8 random poses); scores to 3 decimals."""
    rng = np.random.default_rng(seed)
    width, height = 640, 480
    images, anns, results = [], [], []
    for i in range(1, n_images + 1):
        images.append({"id": i, "file_name": f"{i:06d}.jpg", "width": width, "height": height})
        for _ in range(int(rng.poisson(4))):
            w, h = np.exp(rng.uniform(np.log(16), np.log(300), 2))
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            xs, ys = rng.uniform(x, x + w, 17), rng.uniform(y, y + h, 17)
            v = rng.choice([0, 1, 2], 17, p=[0.3, 0.2, 0.5])
            kp = [float(t) for k in range(17) for t in ((xs[k], ys[k], v[k]) if v[k] else (0, 0, 0))]
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": 1, "bbox": [x, y, w, h],
                         "area": float(w * h * 0.6), "iscrowd": int(rng.random() < 0.01), "keypoints": kp,
                         "num_keypoints": int(np.count_nonzero(v))})
            for _ in range(int(rng.integers(0, 4))):
                jx, jy = rng.normal(0, 0.05 * w, 17), rng.normal(0, 0.05 * h, 17)
                results.append({"image_id": i, "category_id": 1, "score": float(np.round(rng.random(), 3)),
                                "keypoints": [float(t) for k in range(17) for t in (xs[k] + jx[k], ys[k] + jy[k], 1)]})
        for _ in range(int(rng.poisson(8))):
            w, h = np.exp(rng.uniform(np.log(16), np.log(300), 2))
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            results.append({"image_id": i, "category_id": 1, "score": float(np.round(rng.random(), 3)),
                            "keypoints": [float(t) for _k in range(17)
                                          for t in (rng.uniform(x, x + w), rng.uniform(y, y + h), 1)]})
    gt = {"info": {}, "images": images, "annotations": anns,
          "categories": [{"id": 1, "name": "person", "keypoints": KEYPOINT_NAMES, "skeleton": [[16, 14], [14, 12]]}]}
    return gt, results


def measure_process(n_images: int, repeats: int = 3, seed: int = 0, tmp: Path | None = None,
                    iou_type: str = "bbox") -> dict[str, Any]:
    """Whole processes on files: ``cvkit eval detect --data coco:GT.json --predictions RES.json --json`` (``segm``:
    ``cvkit eval instance``) against a plain pycocotools script (``COCO()``, ``loadRes``, ``evaluate``/
    ``accumulate``/``summarize``), interleaved, best of N each; the 12 stats must be equal (``==``) or
    AssertionError."""
    import json
    import tempfile

    from cvkit.vision.evaluate import BOX_STATS, KEYPOINT_STATS

    task, prefix = {"segm": ("instance", "segm_"), "keypoints": ("pose", "")}.get(iou_type, ("detect", ""))
    names = KEYPOINT_STATS if iou_type == "keypoints" else BOX_STATS
    with tempfile.TemporaryDirectory(dir=tmp) as folder:
        if iou_type == "keypoints":
            gt, results = make_keypoint_case(seed, n_images=n_images)
        else:
            gt, results = make_case(seed, n_images=n_images)
        if iou_type == "segm":
            gt, results = with_masks(gt, results)
        gt_file = Path(folder) / ("person_keypoints_val2017.json" if iou_type == "keypoints" else "gt.json")
        res_file, script = Path(folder) / "res.json", Path(folder) / "ref.py"
        gt_file.write_text(json.dumps(gt))
        res_file.write_text(json.dumps(results))
        script.write_text(PYCOCOTOOLS_SCRIPT)
        metric = {"keypoints": ["--metric", "oks"], "segm": ["--metric", "segm"]}.get(iou_type, [])
        ours_cmd = [sys.executable, "-m", "cvkit", "eval", task, "--data", f"coco:{gt_file}", "--predictions",
                    str(res_file), "--json", *metric]
        ref_cmd = [sys.executable, str(script), str(gt_file), str(res_file), iou_type]
        ref_t, ours_t = [], []
        for _ in range(repeats):
            t, ref_out = _wall(ref_cmd)
            ref_t.append(t)
            t, ours_out = _wall(ours_cmd)
            ours_t.append(t)
    ref_stats = json.loads(ref_out.rsplit("STATS ", 1)[1])
    metrics = json.loads(ours_out)["metrics"]
    ours_stats = [metrics[prefix + k] for k in names]
    assert ours_stats == ref_stats, f"cvkit eval differs from pycocotools: {ours_stats} != {ref_stats}"
    best, base = min(ours_t), min(ref_t)
    target = PROCESS_TARGETS.get(n_images, 1.0)
    return {"measure": f"whole eval {iou_type} {len(gt['images']):,} images / {len(results):,} dets (s)",
            "value": best, "baseline": base, "ratio": best / base, "target": f"<= {target} x pycocotools script",
            "ok": best / base <= target, "note": f"identical stats; AP {ref_stats[0]:.4f}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 images instead of 1,000")
    parser.add_argument("--repeats", type=int, default=3, help="best of N runs per side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-process", action="store_true", help="skip the whole-process rows")
    parser.add_argument("--process-only", action="store_true", help="only the whole-process rows")
    args = parser.parse_args()
    try:
        rows = [] if args.process_only else [measure(args.quick, args.repeats, args.seed)]
        sizes = [500] if args.quick else [500, 5000]
        rows += [] if args.no_process else [measure_process(n, args.repeats, args.seed, iou_type=kind)
                                            for kind in ("bbox", "segm", "keypoints") for n in sizes]
    except AssertionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(markdown_table(rows))


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table: measure, value, baseline, ratio, target, pass/miss, note."""
    lines = ["| measure | value (s) | baseline (s) | ratio | target | result | note |",
             "|---|---:|---:|---:|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['measure']} | {row['value']:.3f} | {row['baseline']:.3f} | {row['ratio']:.3f} | "
                     f"{row['target']} | {'pass' if row['ok'] else 'miss'} | {row['note']} |")
    return "\n".join(lines)

if __name__ == "__main__":
    main()
