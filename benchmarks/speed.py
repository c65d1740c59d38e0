"""Speed benchmarks: every figure is a ratio against a baseline measured in the same run.

    .venv/bin/python benchmarks/speed.py [--quick] [--only NAME ...] [--json FILE]

Prints a table (measure, value, baseline, ratio, target, pass/fail). Runs on CPU, or on a CUDA GPU when one
is present (predict then uses the GPU, and the ceiling process runs bf16 autocast)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
CVKIT = [PY, "-m", "cvkit"]


@dataclass
class Row:
    measure: str
    value: float
    baseline: float
    ratio: float
    target: str
    ok: bool
    note: str = ""


def run(cmd: list[str], stdin: str | None = None, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Wall time of a whole process (start-up included) and its stderr."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env={**os.environ, **(env or {})})
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return took, proc.stderr


def best_of(n: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(n))


# --------------------------------------------------------------------------- fixtures
def make_jpegs(folder: Path, n: int, size: int = 256) -> Path:
    import cv2
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = cv2.GaussianBlur(rng.integers(0, 255, (size, size, 3), dtype=np.uint8), (0, 0), 3)
        cv2.imwrite(str(folder / f"img_{i:05d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return folder


def make_checkpoint(path: Path, model: str, img_size: int, classes: int = 10) -> Path:
    from cvkit.checkpoint import Checkpoint, save_checkpoint
    from cvkit.plugin import get_task
    from cvkit.task import DatasetInfo, ModelConfig

    task = get_task("classify")
    info = DatasetInfo("bench", "imagefolder", "imagefolder:/nonexistent", "val", [f"c{i}" for i in range(classes)])
    cfg = ModelConfig(model, img_size)
    net = task.build_model(cfg, info)
    save_checkpoint(Checkpoint("classify", cfg, info, net.state_dict()), path)
    return path


CEILING = """
import sys, time, torch
from cvkit.checkpoint import load_model
task, model, ckpt = load_model(sys.argv[1], "cuda" if torch.cuda.is_available() else "cpu")
dev = next(model.parameters()).device
n, bs, s = int(sys.argv[2]), int(sys.argv[3]), ckpt.model.img_size
model = model.to(memory_format=torch.channels_last)
x = torch.randn(n, 3, s, s).contiguous(memory_format=torch.channels_last)
with torch.inference_mode(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
    for i in range(0, n, bs):
        model(x[i:i + bs].to(dev)).float().softmax(1).topk(5)
"""

NAIVE = """
import sys, glob, torch
from PIL import Image
from torchvision import transforms as T
from cvkit.checkpoint import load_model
task, model, ckpt = load_model(sys.argv[1], "cuda" if torch.cuda.is_available() else "cpu")
dev = next(model.parameters()).device
s = ckpt.model.img_size
norm = T.Normalize(ckpt.model.mean, ckpt.model.std)
tf = T.Compose([T.Resize(round(s / 0.875)), T.CenterCrop(s), T.ToTensor(), norm])
with torch.no_grad():
    for path in sorted(glob.glob(sys.argv[2] + "/*.jpg")):
        x = tf(Image.open(path).convert("RGB"))[None].to(dev)
        model(x).softmax(1).topk(5)
"""


PEAK_RSS = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


# --------------------------------------------------------------------------- measures
def startup(tmp: Path, quick: bool) -> list[Row]:
    help_t = best_of(5, lambda: run(CVKIT + ["--help"])[0])
    tasks_t = best_of(5, lambda: run(CVKIT + ["tasks", "--json"])[0])
    torch_t = best_of(3, lambda: run([PY, "-c", "import torch"])[0])
    return [Row("start-up: cvkit --help (s)", help_t, torch_t, help_t / torch_t, "<= 0.25 x import torch",
                help_t / torch_t <= 0.25),
            Row("start-up: cvkit tasks (s)", tasks_t, torch_t, tasks_t / torch_t, "<= 0.25 x import torch",
                tasks_t / torch_t <= 0.25)]


def predict_throughput(tmp: Path, quick: bool) -> list[Row]:
    n = 128 if quick else 512
    images = make_jpegs(tmp / "jpegs", n)
    ckpt = make_checkpoint(tmp / "resnet18.pt", "resnet18", 224)
    ours, _ = run(CVKIT + ["predict", "--weights", str(ckpt), str(images), "--output", str(tmp / "p.jsonl"),
                           "--batch-size", "16"])
    ceiling, _ = run([PY, "-c", CEILING, str(ckpt), str(n), "16"])
    naive, _ = run([PY, "-c", NAIVE, str(ckpt), str(images)])
    rows = [Row("predict resnet18@224 vs compute ceiling (img/s)", n / ours, n / ceiling, ceiling / ours,
                ">= 0.85", ceiling / ours >= 0.85, f"{n} JPEGs, whole processes"),
            Row("predict resnet18@224 vs naive per-image loop (img/s)", n / ours, n / naive, naive / ours,
                ">= 1.25", naive / ours >= 1.25)]
    onnx = tmp / "resnet18.onnx"
    run(CVKIT + ["export", "--weights", str(ckpt), "--format", "onnx", "--dynamic-batch", "--output", str(onnx),
                 "--no-verify"])
    ort, _ = run(CVKIT + ["predict", "--weights", str(onnx), str(images), "--backend", "onnxruntime",
                          "--output", str(tmp / "o.jsonl"), "--batch-size", "16"])
    rows.append(Row("predict --backend onnxruntime vs torch eager (img/s)", n / ort, n / ours, ours / ort,
                    ">= 1.15", ours / ort >= 1.15))
    return rows


def imagefolder_of(images: Path, root: Path, classes: int = 4) -> Path:
    """The generated JPEGs linked into an ImageFolder (train and val, ``classes`` folders)."""
    files = sorted(images.glob("*.jpg"))
    for i, f in enumerate(files):
        folder = root / ("val" if i % 4 == 0 else "train") / f"c{i % classes}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f.name).symlink_to(f)
    return root


def int8(tmp: Path, quick: bool) -> list[Row]:
    """int8 (static QDQ, calibrated) vs eager fp32 predict of ResNet-18 @224 as whole processes, and the top-1
    change of int8 on a trained ResNet-18 (digits, 32 px, 2 epochs) as the export's verification measures it."""
    n = 128 if quick else 512
    images = make_jpegs(tmp / "jpegs", n)
    folder = imagefolder_of(images, tmp / "int8-data")
    from cvkit.checkpoint import load_checkpoint, save_checkpoint

    ckpt_path = make_checkpoint(tmp / "r18-224.pt", "resnet18", 224, classes=4)
    ckpt = load_checkpoint(ckpt_path)
    ckpt.info.spec = f"imagefolder:{folder}"  # calibration images for the static quantisation
    save_checkpoint(ckpt, ckpt_path)
    q = tmp / "r18-224.int8.onnx"
    run(CVKIT + ["export", "--weights", str(ckpt_path), "--format", "onnx", "--int8", "--dynamic-batch",
                 "--no-verify", "--output", str(q)])
    eager = [run(CVKIT + ["predict", "--weights", str(ckpt_path), str(images), "--output", str(tmp / "e.jsonl"),
                          "--batch-size", "16"])[0] for _ in range(1 if quick else 3)]
    quant = [run(CVKIT + ["predict", "--weights", str(q), str(images), "--output", str(tmp / "q.jsonl"),
                          "--batch-size", "16"])[0] for _ in range(1 if quick else 3)]
    ratios = sorted(e / t for e, t in zip(eager, quant, strict=True))
    ratio = ratios[len(ratios) // 2]
    rows = [Row("predict resnet18@224 int8 onnx vs eager fp32 (img/s)", n / sorted(quant)[len(quant) // 2],
                n / sorted(eager)[len(eager) // 2], ratio, ">= 1.5", ratio >= 1.5,
                f"{n} JPEGs, whole processes, median of {len(ratios)} pairs")]
    out = tmp / "r18-digits"
    run(CVKIT + ["train", "classify", "--model", "resnet18", "--img-size", "32", "--epochs", "1" if quick else "2",
                 "--out", str(out)])
    run(CVKIT + ["export", "--weights", str(out / "best.pt"), "--format", "onnx", "--int8", "--max-drop", "1",
                 "--dynamic-batch", "--output", str(tmp / "digits.int8.onnx")])
    from cvkit.backends import read_metadata

    v = read_metadata(tmp / "digits.int8.onnx").quantization["verification"]
    drop = v["before"] - v["after"]
    rows.append(Row("int8 top-1 drop, resnet18 trained on digits (fraction)", v["after"], v["before"], drop,
                    "<= 0.01", drop <= 0.01, f"on {v['data']}, top-1 agreement {v['top1_agreement']:.3f}"))
    return rows


def engine_overhead(tmp: Path, quick: bool) -> list[Row]:
    """``cvkit train classify --model resnet18`` against a minimal hand-written loop on the same files and model
    (benchmarks/handloop.py), alternated, medians of each side. The target is on training throughput: the seconds
    from the first step to the last checkpoint (cvkit's ``summary.json`` "seconds": steps, per-epoch validation and
    checkpoints, seeding, resumable sampling, logging) against the hand loop's same span, the hand loop building
    AdamW as cvkit does (multi-tensor): the engine alone. Reported beside it: the whole processes (start-up,
    curves and validation pictures included), and the hand loop as most people write it (PyTorch's default
    AdamW, a one-tensor-at-a-time loop on CPU, with the same updates)."""
    from cvkit.data import load_split
    from cvkit.plugin import get_task

    src = Path(load_split(get_task("classify"), "builtin:digits", "train").sources[0]).parents[2]
    epochs = "1" if quick else "3"
    ours, hand, plain, ours_loop, hand_loop, plain_loop = [], [], [], [], [], []
    for k in range(1 if quick else 3):
        out = tmp / f"eng{k}"
        took, _ = run(CVKIT + ["train", "classify", "--model", "resnet18", "--img-size", "32", "--epochs", epochs,
                               "--batch-size", "64", "--data", f"imagefolder:{src}", "--model-arg", "augment=none",
                               "--out", str(out)])
        ours.append(took)
        ours_loop.append(json.loads((out / "summary.json").read_text())["seconds"])
        for extra, whole, span in (["foreach"], hand, hand_loop), ([], plain, plain_loop):
            took, err = run([PY, str(ROOT / "benchmarks" / "handloop.py"), str(src), "resnet18", "32", epochs, "64",
                             str(tmp / f"hand{k}.pt"), *extra])
            whole.append(took)
            span.append(float(err.rsplit("loop seconds ", 1)[1].split()[0]))

    def median(xs: list[float]) -> float:
        return sorted(xs)[len(xs) // 2]

    a, b, c, d = median(ours_loop), median(hand_loop), median(ours), median(hand)
    e = median(plain_loop)
    note = f"digits 32 px, {epochs} epoch(s), medians of {len(ours)}"
    return [Row("engine overhead: cvkit train resnet18 vs hand-written loop, training span (s)", a, b, a / b,
                "<= 1.05", a / b <= 1.05, note),
            Row("  the same, whole processes (start-up, curves, pictures) (s)", c, d, c / d, "(reported)", True,
                note),
            Row("  vs the hand loop with PyTorch's default AdamW (s)", a, e, a / e, "(reported)", True, note)]


def streaming(tmp: Path, quick: bool) -> list[Row]:
    n_big = 20_000 if quick else 100_000
    ckpt = make_checkpoint(tmp / "mlp.pt", "mlp", 16)
    from cvkit.data import load_split
    from cvkit.plugin import get_task

    files = load_split(get_task("classify"), "builtin:digits", "val").sources
    results = {}
    for n in (n_big // 10, n_big):
        listing = "\n".join(files[i % len(files)] for i in range(n)) + "\n"
        # a fresh parent per run, so that ru_maxrss of its children is this predict process's own peak
        took, rss_text = run([PY, "-c", PEAK_RSS, *CVKIT, "predict", "--weights", str(ckpt), "-", "--output",
                              str(tmp / f"s{n}.jsonl"), "--batch-size", "64"], stdin=listing)
        rss = int(rss_text.strip().splitlines()[-1])
        lines = sum(1 for _ in open(tmp / f"s{n}.jsonl"))
        assert lines == n, (lines, n)
        results[n] = (took, rss / 1024)
    (_, rss_small), (t_big, rss_big) = results[n_big // 10], results[n_big]
    return [Row(f"streaming predict: peak RSS at {n_big:,} vs {n_big // 10:,} inputs (MiB)", rss_big, rss_small,
                rss_big / rss_small, "<= 1.2 (constant memory)", rss_big / rss_small <= 1.2,
                f"{n_big / t_big:.0f} inputs/s")]


DATA_WAIT_TASKS = ("classify", "detect", "segment", "instance", "pose", "video", "multilabel", "caption", "vqa",
                   "dense", "promptseg", "pretrain")


def data_wait(tmp: Path, quick: bool) -> list[Row]:
    """Each installed task's default training for one epoch (``--quick``: its default dataset at 200 images); the
    fraction of the epoch's step time spent waiting for the next batch, as metrics.csv reports it."""
    import csv

    from cvkit.data import materialize_builtin
    from cvkit.plugin import get_task, task_names

    rows = []
    for name in [t for t in DATA_WAIT_TASKS if t in task_names()]:
        task = get_task(name)
        data = task.spec.default_data
        if quick:
            data = materialize_builtin(task, data.split(":", 1)[1], size=200)
        out = tmp / f"train-{name}"
        took, _ = run(CVKIT + ["train", name, "--epochs", "1", "--data", data, "--out", str(out)])
        with open(out / "metrics.csv", newline="") as fh:
            waits = [float(r["data_wait"]) for r in csv.DictReader(fh)]
        mean = sum(waits) / len(waits)
        rows.append(Row(f"training data wait, {name} default (fraction of step time)", mean, 1.0, mean, "< 0.10",
                        mean < 0.10, f"1 epoch{', 200 images' if quick else ''}, {took:.0f} s"))
    return rows


def coco_eval(tmp: Path, quick: bool) -> list[Row]:
    sys.path.insert(0, str(ROOT))
    from benchmarks.coco_eval import measure

    return [Row(**measure(quick))]


MEASURES: dict[str, Callable[[Path, bool], list[Row]]] = {
    "startup": startup, "predict": predict_throughput, "streaming": streaming, "data_wait": data_wait,
    "coco_eval": coco_eval, "int8": int8, "engine": engine_overhead,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller inputs (a smoke run)")
    parser.add_argument("--only", nargs="*", choices=sorted(MEASURES), help="run only these measures")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args()
    os.environ.setdefault("CVKIT_PROGRESS", "0")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="cvkit-bench-") as tmp:
        os.environ.setdefault("CVKIT_CACHE", str(Path(tmp) / "cache"))
        for name in args.only or MEASURES:
            rows += MEASURES[name](Path(tmp), args.quick)
    width = max(len(r.measure) for r in rows)
    print(f"{'measure':<{width}}  {'value':>10}  {'baseline':>10}  {'ratio':>7}  {'target':<26} result")
    for r in rows:
        print(f"{r.measure:<{width}}  {r.value:>10.3f}  {r.baseline:>10.3f}  {r.ratio:>7.3f}  {r.target:<26} "
              f"{'pass' if r.ok else 'FAIL'}{('  ' + r.note) if r.note else ''}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))


if __name__ == "__main__":
    main()
