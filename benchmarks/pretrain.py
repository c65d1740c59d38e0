"""Self-supervised pretraining benchmark: every method on builtin:digits and builtin:shapes, judged by linear
probes and k-NN (all labels and 10 %) against a randomly initialised and a supervised encoder of the same
architecture (the course's small conv net, ``sample-cnn-gap``, 32 filters), then fine-tuned as a classifier
(`cvkit train classify --weights`) on 10 % of the labels from each initialisation.

    python benchmarks/pretrain.py [--datasets digits,shapes] [--methods simclr,rotation,...] [--scale 1.0]
                                  [--out runs/bench-pretrain]

``--scale`` multiplies every training budget (0.25 for a quick look). Prints one Markdown table per dataset and
writes ``results.json`` in ``--out``. Everything runs through the public CLI, one command at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

METHODS = ("relpos", "colorize", "rotation", "simclr", "autoencoder", "supervised")
# Per dataset: the image size, the encoder (every method and every fine-tune use the same one) and per method
# (epochs, repeat, batch size); None: the dataset card's default, not scaled (digits' SimCLR: the 3-minute recipe).
# Sized so that the whole table for both datasets costs ~30 minutes of one CPU core.
BUDGET = {
    "digits": {"img": 32, "encoder": ("sample-cnn-gap", 32),
               "methods": {"relpos": (1, 6, 128), "colorize": (1, 4, 128), "rotation": (1, 3, 128),
                           "simclr": None, "autoencoder": (1, 14, 128), "supervised": (1, 16, 128)},
               "finetune_epochs": 30},
    "shapes": {"img": 64, "encoder": ("sample-cnn-gap", 32),
               "methods": {"relpos": (1, 8, 128), "colorize": (1, 2, 64), "rotation": (1, 1, 64),
                           "simclr": (1, 2, 128), "autoencoder": (1, 1, 64), "supervised": (4, 1, 64)},
               "finetune_epochs": 15},
}
METRICS = ("probe_top1", "knn_top1", "probe10_top1", "knn10_top1")


def cvkit(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "cvkit", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"cvkit {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return proc


def ten_percent_folder(spec: str, out: Path) -> str:
    """An ImageFolder of 10 % of the labelled training images (stratified, seed 0) and every labelled val image,
    linked to the dataset's files, for `cvkit train classify`."""
    from cvkit.data import load_split
    from cvkit.plugin import get_task
    from cvkit_pretrain.probe import label_subsets

    task = get_task("pretrain")
    for split in ("train", "val"):
        raw = load_split(task, spec, split)
        keep = [i for i, t in enumerate(raw.targets) if t >= 0]
        if split == "train":
            labels = [raw.targets[i] for i in keep]
            import numpy as np

            keep = [keep[i] for i in label_subsets(np.array(labels), 0.1, 1)[0]]
        for i in keep:
            link = out / split / raw.info.classes[raw.targets[i]] / f"{i:06d}{Path(raw.sources[i]).suffix}"
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                os.symlink(os.path.abspath(raw.sources[i]), link)
    return f"imagefolder:{out}"


def run_dataset(name: str, methods: list[str], scale: float, out: Path, reuse: bool = False,
                finetune: tuple[str, ...] = ()) -> dict:
    cfg = BUDGET[name]
    img = str(cfg["img"])
    results: dict = {"pretrain": {}, "finetune": {}}
    spec = cvkit("data", "make", name, "--task", "pretrain", "--out", str(out / "data")).stdout.strip() \
        if not (out / "data").exists() else json.loads((out / "spec.json").read_text())["spec"]
    (out / "spec.json").write_text(json.dumps({"spec": spec}))
    encoder, channels = cfg["encoder"]
    enc_args = ["--model-arg", f"encoder={encoder}"] + (["--model-arg", f"channels={channels}"]
                                                        if encoder == "sample-cnn-gap" else [])
    for method in methods:
        run = out / method
        args = ["train", "pretrain", "--data", spec, "--model", method, "--img-size", img, "--out", str(run),
                "--exist-ok", *enc_args]
        budget = cfg["methods"][method]
        if budget is not None:
            epochs, repeat, batch = budget
            repeat = max(1, round(repeat * scale))
            args += ["--epochs", str(epochs), "--batch-size", str(batch), "--model-arg", f"repeat={repeat}"]
        start = time.perf_counter()
        if reuse and (run / "summary.json").exists() and (run / "last.pt").exists():
            print(f"[{name}] {method}: reusing {run}", flush=True)
        else:
            cvkit(*args)
        seconds = time.perf_counter() - start
        # the validation after the last epoch is `cvkit eval --weights last.pt` on the val split (same numbers)
        summary = json.loads((run / "summary.json").read_text())
        metrics = {k.removeprefix("val_"): v for k, v in summary["final"].items() if k.startswith("val_")}
        if reuse:  # the time of the run that trained it
            seconds = json.loads((run / "summary.json").read_text()).get("seconds", seconds)
        results["pretrain"][method] = {"metrics": metrics, "wall_s": round(seconds, 1), "run_s": summary["seconds"],
                                       "steps": summary["steps"], "command": "cvkit " + " ".join(args)}
        print(f"[{name}] {method}: {seconds:.0f} s, {summary['steps']} steps  "
              + "  ".join(f"{k} {metrics[k]:.3f}" for k in METRICS), flush=True)
    few = ten_percent_folder(spec, out / "ten_percent")
    inits = {"random": None, **{m: str(out / m / "last.pt") for m in methods}}
    for init, weights in inits.items():
        run = out / f"finetune-{init}"
        args = ["train", "classify", "--data", few, "--model", encoder, "--img-size", img, "--epochs",
                str(max(1, round(cfg["finetune_epochs"] * scale))), "--batch-size", "64", "--model-arg",
                "augment=light", "--out", str(run), "--exist-ok", *finetune]
        if encoder == "sample-cnn-gap":
            args += ["--model-arg", f"channels={channels}"]
        if weights:
            args += ["--weights", weights]
        start = time.perf_counter()
        cvkit(*args)
        top1 = json.loads((run / "summary.json").read_text())["best"]["value"]
        results["finetune"][init] = {"top1": top1, "wall_s": round(time.perf_counter() - start, 1),
                                     "command": "cvkit " + " ".join(args)}
        print(f"[{name}] fine-tune 10% from {init}: top1 {top1:.3f}", flush=True)
    return results


def table(name: str, res: dict) -> str:
    rows = [f"### {name}", "", "| encoder | pretrain s | linear | k-NN | linear 10% | k-NN 10% | fine-tune 10% |",
            "|---|---|---|---|---|---|---|"]
    pre = res["pretrain"]
    # random encoder: of a method that feeds it plain RGB (colourisation's random twin sees the lightness only)
    ref = pre.get("simclr") or pre.get("rotation") or next(iter(pre.values()))
    ft = res["finetune"]
    rows.append("| random init | 0 | " + " | ".join(f"{ref['metrics']['random_' + k]:.3f}" for k in METRICS)
                + f" | {ft.get('random', {}).get('top1', float('nan')):.3f} |")
    for method, r in pre.items():
        rows.append(f"| {method} | {r['wall_s']:.0f} | " + " | ".join(f"{r['metrics'][k]:.3f}" for k in METRICS)
                    + f" | {ft.get(method, {}).get('top1', float('nan')):.3f} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", default="digits,shapes")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--out", default="runs/bench-pretrain")
    p.add_argument("--reuse", action="store_true", help="read pretraining runs already in --out instead of training")
    p.add_argument("--finetune-lr", type=float, help="learning rate of the fine-tuning (default: classify's)")
    p.add_argument("--finetune-warmup", type=float, help="warm-up epochs of the fine-tuning (default: classify's)")
    a = p.parse_args(argv)
    out = Path(a.out)
    results = {}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    for name in a.datasets.split(","):
        finetune = (["--lr", str(a.finetune_lr)] if a.finetune_lr else []) + \
            (["--warmup-epochs", str(a.finetune_warmup)] if a.finetune_warmup is not None else [])
        results[name] = run_dataset(name, a.methods.split(","), a.scale, out / name, a.reuse, tuple(finetune))
    results["load_at_start"] = load
    (out / "results.json").write_text(json.dumps(results, indent=2))
    for name in a.datasets.split(","):
        print("\n" + table(name, results[name]))
    print(f"\nload average at start {load:.1f}, at end {os.getloadavg()[0]:.1f}")
    return results


if __name__ == "__main__":
    main()
