"""The prepared GPU benchmark: one script, one table, under 8 minutes on one CUDA GPU.

    .venv/bin/python benchmarks/gpu.py [--out TABLE.md] [--json FILE] [--smoke]

Rows (each ratio against a baseline measured in the same run, on the same device):
- predict throughput of ResNet-50 @224, batch 64: eager fp32 (baseline), channels-last + bf16 autocast,
  torch.compile of the latter, onnxruntime with the CUDA execution provider (where onnxruntime-gpu is installed);
- training throughput of ResNet-50 @224, batch 64, SGD: fp32 (baseline) vs bf16 autocast + channels-last;
- the data wait of `cvkit train classify` on a generated ImageFolder of 224-px JPEGs, with 0 workers (baseline)
  and with 8 workers (fraction of step time spent waiting for the next batch, from metrics.csv).

``--smoke`` runs every row at toy sizes on whatever device there is (the CPU here), so the script is tested
where no GPU exists; its numbers mean nothing. Each measurement warms up first and synchronises the device.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    group: str
    measure: str
    value: float
    unit: str
    ratio: float | None  # against the group's baseline (first row of the group)
    note: str = ""


@dataclass
class Sizes:
    model: str = "resnet50"
    img: int = 224
    batch: int = 64
    iters: int = 30
    warmup: int = 5
    images: int = 2048  # data-wait dataset
    epochs: int = 1

    @classmethod
    def smoke(cls) -> Sizes:
        return cls(model="resnet18", img=32, batch=4, iters=2, warmup=1, images=32, epochs=1)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def throughput(fn: Callable[[], object], n_items: int, iters: int, warmup: int, device: torch.device) -> float:
    """Items per second of ``fn`` (which processes ``n_items``), after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync(device)
    return n_items * iters / (time.perf_counter() - start)


def predict_rows(device: torch.device, s: Sizes) -> list[Row]:
    import torchvision

    model = torchvision.models.get_model(s.model, num_classes=1000).eval().to(device)
    x = torch.randn(s.batch, 3, s.img, s.img, device=device)
    rows: list[Row] = []

    def eager() -> object:
        with torch.no_grad():
            return model(x)

    base = throughput(eager, s.batch, s.iters, s.warmup, device)
    rows.append(Row("predict", f"{s.model} eager fp32", base, "img/s", 1.0))
    cl_model = model.to(memory_format=torch.channels_last)
    x_cl = x.to(memory_format=torch.channels_last)
    amp_dtype = torch.bfloat16

    def fast() -> object:
        with torch.no_grad(), torch.autocast(device.type, dtype=amp_dtype):
            return cl_model(x_cl)

    v = throughput(fast, s.batch, s.iters, s.warmup, device)
    rows.append(Row("predict", f"{s.model} channels-last bf16", v, "img/s", v / base))
    try:
        compiled = torch.compile(cl_model)

        def comp() -> object:
            with torch.no_grad(), torch.autocast(device.type, dtype=amp_dtype):
                return compiled(x_cl)

        v = throughput(comp, s.batch, s.iters, s.warmup + 2, device)
        rows.append(Row("predict", f"{s.model} torch.compile channels-last bf16", v, "img/s", v / base))
    except Exception as exc:  # no compiler toolchain on the machine: say so in the table
        rows.append(Row("predict", f"{s.model} torch.compile", float("nan"), "img/s", None,
                        f"unavailable: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"))
    rows.append(ort_row(model.to(memory_format=torch.contiguous_format), x, base, s, device))
    return rows


def ort_row(model: torch.nn.Module, x: torch.Tensor, base: float, s: Sizes, device: torch.device) -> Row:
    import io

    import onnxruntime as ort

    wanted = "CUDAExecutionProvider" if device.type == "cuda" else "CPUExecutionProvider"
    if wanted not in ort.get_available_providers():
        return Row("predict", f"{s.model} onnxruntime CUDA", float("nan"), "img/s", None,
                   "unavailable: onnxruntime has no CUDAExecutionProvider (install onnxruntime-gpu)")
    import warnings

    buf = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript-based exporter's deprecation notice
        warnings.simplefilter("ignore")
        torch.onnx.export(model.cpu().float(), (x.cpu(),), buf, input_names=["images"], output_names=["logits"],
                          opset_version=17, dynamo=False)
    model.to(device)
    session = ort.InferenceSession(buf.getvalue(), providers=[wanted])
    feed = {"images": x.cpu().numpy()}
    v = throughput(lambda: session.run(None, feed), s.batch, s.iters, s.warmup, device)
    return Row("predict", f"{s.model} onnxruntime {wanted.removesuffix('ExecutionProvider')}", v, "img/s", v / base,
               "host-to-device copy of the inputs included")


def train_rows(device: torch.device, s: Sizes) -> list[Row]:
    import torchvision

    rows: list[Row] = []
    base = None
    for name, amp, channels_last in (("fp32", False, False), ("bf16 autocast + channels-last", True, True)):
        torch.manual_seed(0)
        model = torchvision.models.get_model(s.model, num_classes=1000).to(device).train()
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        model = model.to(memory_format=fmt)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = torch.randn(s.batch, 3, s.img, s.img, device=device).to(memory_format=fmt)
        y = torch.randint(0, 1000, (s.batch,), device=device)

        def step(model: torch.nn.Module = model, opt: torch.optim.Optimizer = opt, x: torch.Tensor = x,
                 y: torch.Tensor = y, amp: bool = amp) -> object:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss

        v = throughput(step, s.batch, max(s.iters // 2, 1), s.warmup, device)
        base = base or v
        rows.append(Row("train", f"{s.model} {name}", v, "img/s", v / base))
    return rows


def data_wait_rows(device: torch.device, s: Sizes, tmp: Path) -> list[Row]:
    import cv2
    import numpy as np

    root = tmp / "jpegs"
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for c in range(4):
            folder = root / split / f"c{c}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(s.images // 8):
                img = cv2.GaussianBlur(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8), (0, 0), 3)
                cv2.imwrite(str(folder / f"{i:05d}.jpg"), img)
    rows: list[Row] = []
    base = None
    cores = os.cpu_count() or 1
    for workers in (0, min(8, max(cores - 1, 1))):
        out = tmp / f"run-w{workers}"
        cmd = [sys.executable, "-m", "cvkit", "train", "classify", "--data", f"imagefolder:{root}", "--model",
               s.model, "--img-size", str(s.img), "--batch-size", str(s.batch), "--epochs", str(s.epochs),
               "--workers", str(workers), "--device", device.type, "--out", str(out)]
        if device.type == "cuda":
            cmd.append("--amp")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            rows.append(Row("data wait", f"cvkit train, {workers} workers", float("nan"), "fraction", None,
                            f"failed: {proc.stderr.strip().splitlines()[-1][:100] if proc.stderr.strip() else ''}"))
            continue
        with open(out / "metrics.csv", newline="") as fh:
            waits = [float(r["data_wait"]) for r in csv.DictReader(fh)]
        v = sum(waits) / len(waits)
        base = base if base is not None else v
        rows.append(Row("data wait", f"cvkit train {s.model}, {workers} workers", v, "fraction of step time",
                        v / base if base else None))
    return rows


def table(rows: list[Row], device: str) -> str:
    lines = [f"Device: {device}", "", "| group | measure | value | unit | ratio vs group baseline | note |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}x"
        lines.append(f"| {r.group} | {r.measure} | {r.value:.3g} | {r.unit} | {ratio} | {r.note} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) here")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--smoke", action="store_true", help="toy sizes on any device (tests the script)")
    parser.add_argument("--only", nargs="*", choices=("predict", "train", "data_wait"))
    args = parser.parse_args()
    sizes = Sizes.smoke() if args.smoke else Sizes()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type != "cuda" and not args.smoke:
        raise SystemExit("no CUDA device: this benchmark is for a GPU machine (use --smoke to test it on CPU)")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    torch.backends.cudnn.benchmark = True
    rows: list[Row] = []
    only = set(args.only or ("predict", "train", "data_wait"))
    with tempfile.TemporaryDirectory(prefix="cvkit-gpu-bench-") as tmp:
        if "predict" in only:
            rows += predict_rows(device, sizes)
        if "train" in only:
            rows += train_rows(device, sizes)
        if "data_wait" in only:
            rows += data_wait_rows(device, sizes, Path(tmp))
    text = table(rows, f"{name}, torch {torch.__version__}")
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))


if __name__ == "__main__":
    main()
