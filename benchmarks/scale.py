"""Scale figures by simulation: an ImageNet-layout folder of small generated JPEGs read as a folder and as tar
shards (10k vs 100k images), and a COCO-size annotation file (118k images, 860k boxes).

    .venv/bin/python benchmarks/scale.py [--sizes 10000,100000] [--workers 0,1,2] [--samples 20000]
                                         [--coco-images 118000 --coco-boxes 860000] [--work DIR] [--json FILE]

For each size and storage: annotation parsing / listing time (``load_split``), RAM held by the parsed split and
dataset (RSS growth of a fresh process), time to first batch and throughput (images/s over the first
``--samples`` images of a shuffled epoch, batch 256, decode + 32 px eval transform, no model) with 0/1/2
DataLoader workers. Ratios: 100k/10k (linear growth of listing and RAM = 10x, flat throughput = 1x) and
shards/folder. Every measure runs in its own process so RAM figures do not mix."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory of this process (``VmHWM``: its peak; unlike ru_maxrss, not inherited across exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


# ---------------------------------------------------------------------------------------------- generation
def make_imagenet(root: Path, n: int, classes: int = 100, val: int = 500) -> None:
    """``root/{train,val}/nXXXXXXXX/nXXXXXXXX_i.JPEG``: 32x32 JPEGs (256 distinct pictures, reused)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    blobs = []
    for k in range(256):
        img = (rng.random((32, 32, 3)) * 64 + np.linspace(0, 191, 32)[None, :, None] * (k % 3)).astype(np.uint8)
        blobs.append(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    wnids = [f"n{10000000 + 7919 * c:08d}" for c in range(classes)]
    for split, count in (("train", n), ("val", val)):
        for w in wnids:
            (root / split / w).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            w = wnids[i % classes]
            (root / split / w / f"{w}_{i}.JPEG").write_bytes(blobs[i % 256])


def make_coco(path: Path, images: int, boxes: int) -> None:
    """A COCO instances file of ``images`` images and ``boxes`` boxes (80 categories with COCO's ids)."""
    import numpy as np

    rng = np.random.default_rng(0)
    missing = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83}
    cat_ids = [c for c in range(1, 91) if c not in missing]
    img_of = rng.integers(0, images, boxes)
    xywh = np.round(rng.random((boxes, 4)) * [500, 350, 120, 120] + [0, 0, 2, 2], 2)
    cats = rng.choice(cat_ids, boxes)
    with open(path, "w") as fh:
        fh.write('{"info": {}, "licenses": [], "images": [')
        fh.write(",".join(json.dumps({"id": i + 1, "width": 640, "height": 480, "file_name": f"{i + 1:012d}.jpg"})
                          for i in range(images)))
        fh.write('], "annotations": [')
        fh.write(",".join(json.dumps({"id": j + 1, "image_id": int(img_of[j]) + 1, "category_id": int(cats[j]),
                                      "bbox": [float(v) for v in xywh[j]], "area": float(xywh[j, 2] * xywh[j, 3]),
                                      "iscrowd": 0, "segmentation": []}) for j in range(boxes)))
        fh.write('], "categories": [')
        fh.write(",".join(json.dumps({"id": c, "name": f"class{c}", "supercategory": "x"}) for c in cat_ids))
        fh.write("]}")


# -------------------------------------------------------------------------------------------- measurements
def child_loader(spec: str, workers: list[int], samples: int) -> dict:
    """Run in a fresh process: parse, build the dataset, then first batch and throughput per worker count."""
    import torch

    from cvkit.data import load_split
    from cvkit.engine.loader import EpochSampler, make_loader
    from cvkit.plugin import get_task
    from cvkit.task import ModelConfig

    torch.set_num_threads(1)
    task = get_task("classify")
    base = rss_mb()
    t0 = time.perf_counter()
    raw = load_split(task, spec, "train")
    ds = task.dataset(raw, ModelConfig("mlp", 32, {"augment": "none"}), train=False)
    ds.cache.enabled = False  # measure decoding, not the in-memory cache of small datasets
    out = {"n": len(ds), "parse_s": time.perf_counter() - t0, "ram_mb": rss_mb() - base}
    for w in workers:
        sampler = EpochSampler(len(ds), True, 0, 0)
        t0 = time.perf_counter()
        loader = iter(make_loader(ds, task.collate, 256, sampler, w, False))
        seen = len(next(loader)[0])
        first = time.perf_counter() - t0
        for batch, _ in loader:
            seen += len(batch)
            if seen >= samples:
                break
        out[f"first_batch_s_w{w}"] = first
        out[f"img_per_s_w{w}"] = seen / (time.perf_counter() - t0)
        del loader
    out["peak_rss_mb"] = rss_mb("VmHWM")
    return out


def child_coco(path: str) -> dict:
    from cvkit.vision.coco import load_coco

    base = rss_mb()
    t0 = time.perf_counter()
    aset = load_coco(path, "val", images=str(Path(path).parent))
    seconds = time.perf_counter() - t0
    return {"images": len(aset.images), "boxes": sum(len(im.objects) for im in aset.images), "load_s": seconds,
            "ram_mb": rss_mb() - base, "peak_rss_mb": rss_mb("VmHWM"),
            "base_rss_mb": base}


def in_child(*args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "CVKIT_PROGRESS": "0"})
    if proc.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--workers", default="0,1,2")
    ap.add_argument("--samples", type=int, default=20000, help="images timed per worker setting")
    ap.add_argument("--coco-images", type=int, default=118000)
    ap.add_argument("--coco-boxes", type=int, default=860000)
    ap.add_argument("--work", help="folder for the generated data (default: a temporary one, removed)")
    ap.add_argument("--json", help="write the figures here too")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        kind, *rest = a.child
        res = child_loader(rest[0], [int(w) for w in rest[1].split(",")], int(rest[2])) if kind == "loader" \
            else child_coco(rest[0])
        print(json.dumps(res))
        return
    with tempfile.TemporaryDirectory(dir=a.work) as tmp:
        run(Path(tmp), a)


def run(work: Path, a: argparse.Namespace) -> None:
    from cvkit.plugin import get_task
    from cvkit.shards import parse_size, write_shards

    sizes = [int(s) for s in a.sizes.split(",")]
    results: dict = {"load": os.getloadavg(), "folder": {}, "shards": {}, "make": {}}
    for n in sizes:
        root = work / f"imagenet{n}"
        t0 = time.perf_counter()
        make_imagenet(root, n)
        t1 = time.perf_counter()
        write_shards(get_task("classify"), f"imagefolder:{root}", work / f"shards{n}", ["train"], parse_size("1GB"))
        results["make"][n] = {"generate_s": t1 - t0, "shard_s": time.perf_counter() - t1}
        for kind, spec in (("folder", f"imagefolder:{root}"), ("shards", f"shards:{work / f'shards{n}'}")):
            results[kind][n] = in_child("loader", spec, a.workers, str(a.samples))
            print(f"{kind} {n}: {results[kind][n]}", file=sys.stderr, flush=True)
    coco = work / "instances_val2017.json"
    make_coco(coco, a.coco_images, a.coco_boxes)
    results["coco"] = {**in_child("coco", str(coco)), "json_mb": coco.stat().st_size / 2**20}
    results["load_after"] = os.getloadavg()
    print_table(results, sizes, [int(w) for w in a.workers.split(",")])
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1, default=str))


def _short(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def print_table(r: dict, sizes: list[int], workers: list[int]) -> None:
    lo, hi = sizes[0], sizes[-1]
    measures = [("parse/list s", "parse_s"), ("RAM MB (split+dataset)", "ram_mb")]
    for w in workers:
        measures += [(f"first batch s, {w} workers", f"first_batch_s_w{w}"), (f"img/s, {w} workers", f"img_per_s_w{w}")]
    head = f"{'measure':<28}" + "".join(f"{k} {_short(n)}".rjust(14) for k in ("folder", "shards") for n in (lo, hi))
    print(head + f"{'folder ' + str(hi // lo) + 'x':>12}{'shards ' + str(hi // lo) + 'x':>12}"
          f"{'shards/folder':>15}")
    for label, key in measures:
        vals = [r[k][n][key] for k in ("folder", "shards") for n in (lo, hi)]
        row = f"{label:<28}" + "".join(f"{v:14.3f}" for v in vals)
        row += f"{vals[1] / vals[0]:12.2f}{vals[3] / vals[2]:12.2f}{vals[3] / vals[1]:15.2f}"
        print(row)
    for n in sizes:
        m = r["make"][n]
        print(f"generate {n}: {m['generate_s']:.1f} s; write shards: {m['shard_s']:.1f} s")
    c = r["coco"]
    print(f"COCO {c['images']:,} images / {c['boxes']:,} boxes, JSON {c['json_mb']:.0f} MiB: load_coco "
          f"{c['load_s']:.1f} s, RAM held {c['ram_mb']:.0f} MB ({c['ram_mb'] / c['json_mb']:.1f}x the JSON), "
          f"peak RSS {c['peak_rss_mb']:.0f} MB ({(c['peak_rss_mb'] - c['base_rss_mb']) / c['json_mb']:.1f}x)")
    print(f"load average before {r['load'][0]:.1f}, after {r['load_after'][0]:.1f} (2 cores)")


if __name__ == "__main__":
    main()
