"""``cvkit visualize``: galleries of data and predictions, curves and confusion matrices, and the kinds of
``cvkit.explain`` that show what a network computes. Every picture is a PNG with a JSON sidecar."""

from __future__ import annotations

import csv
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.engine.rundir import plot_curves, write_json
from cvkit.errors import CvkitError, UsageError
from cvkit.io.atomic import atomic_write, write_image
from cvkit.io.sources import expand_sources

BASIC = ("predictions", "dataset", "curves", "confusion")
DEMOS = ("optimizer", "fit")  # course demos that need no model: cvkit.explain.optimization / .fitting


def run_demo(kind: str, out: Path, options: list[str]) -> tuple[list[Path], dict[str, Any]]:
    """Write a demo's picture and JSON into ``out``; returns the paths and the short JSON summary."""
    from cvkit.explain import fitting, optimization

    parsed = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--option {item!r}: expected KEY=VALUE")
        parsed[key.strip()] = value.strip()
    module = optimization if kind == "optimizer" else fitting
    paths, doc = module.run(out, parsed)
    return paths, module.summary(doc)


def run_visualize(kind: str, sources: list[str], weights: Path | None, out: Path, data: str | None,
                  split: str | None,
                  run: Path | None, limit: int | None, layer: str | None, list_layers: bool, target: str | None,
                  options: list[str], device: str, task: str | None = None, conf: float | None = None,
                  max_drawn: int | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    if kind in DEMOS:
        return run_demo(kind, out, options)[0]
    if kind not in BASIC:
        from cvkit.explain import KINDS
        from cvkit.explain.run import run_explain

        if kind not in KINDS:
            return _task_script(kind, sources, weights, out, data, split, limit, layer, target, options, device, task)

        return run_explain(kind, sources, weights, out, data, split, layer, list_layers, target, options, device,
                           limit)
    split = split or "val"
    limit = limit or 16
    if kind == "curves":
        return _curves(weights, run, data, split, out, device)
    if kind == "dataset":
        return _dataset(weights, task, data, split, limit, out)
    if kind == "predictions":
        return _predictions(weights, sources, data, split, limit, out, device, conf, max_drawn)
    return _confusion(weights, data, split, out, device)


def _task_script(kind: str, sources: list[str], weights: Path | None, out: Path, data: str | None,
                 split: str | None, limit: int | None, layer: str | None, target: str | None, options: list[str],
                 device: str, task_name: str | None) -> list[Path]:
    """A KIND the core does not know: the task's own ``scripts()`` (the task from --task or the checkpoint)."""
    from cvkit.explain import KINDS
    from cvkit.plugin import get_task
    from cvkit.task import VisualizeRequest

    if task_name is None and weights is not None:
        from cvkit.checkpoint import load_checkpoint

        task_name = load_checkpoint(weights).task
    scripts = get_task(task_name).scripts() if task_name else {}
    if kind not in scripts:
        known = ", ".join([*BASIC, *KINDS, *sorted(scripts)])
        hint = "" if task_name else " (a task's own kinds need --task or --weights)"
        raise UsageError(f"unknown visualisation {kind!r} (choose from {known}){hint}")
    opts: dict[str, str] = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--option {item!r}: expected KEY=VALUE")
        opts[key.replace("-", "_")] = value
    request = VisualizeRequest(kind, out, list(sources), weights, data, split, limit, layer, target, opts, device)
    return list(scripts[kind](request))


def tile(images: list[np.ndarray], cols: int | None = None, cell: int = 192, gap: int = 4) -> np.ndarray:
    """Lay RGB images out in a grid on a dark background. Cells take the pictures' median shape: a strip of video
    frames gets a wide cell, not a square one. Small pictures are enlarged (nearest) until their longer side is
    ``cell``; large ones are shrunk to about ``(2 * cell)**2`` pixels. Each picture keeps its aspect, centred."""
    import cv2

    if not images:
        return np.zeros((cell, cell, 3), np.uint8)
    mh = float(np.median([im.shape[0] for im in images]))
    mw = float(np.median([im.shape[1] for im in images]))
    s = min(1.0, (2 * cell) / np.sqrt(mh * mw))
    s = max(s, cell / max(mh, mw))
    ch, cw = max(1, round(mh * s)), max(1, round(mw * s))
    cols = cols or max(1, min(len(images), round(np.sqrt(len(images) * ch / cw))))
    rows = int(np.ceil(len(images) / cols))
    grid = np.full((rows * (ch + gap) + gap, cols * (cw + gap) + gap, 3), 24, np.uint8)
    for k, img in enumerate(images):
        h, w = img.shape[:2]
        f = min(ch / h, cw / w)
        small = cv2.resize(img, (max(1, min(cw, round(w * f))), max(1, min(ch, round(h * f)))),
                           interpolation=cv2.INTER_NEAREST if f > 1 else cv2.INTER_AREA)
        r, c = divmod(k, cols)
        y = gap + r * (ch + gap) + (ch - small.shape[0]) // 2
        x = gap + c * (cw + gap) + (cw - small.shape[1]) // 2
        grid[y : y + small.shape[0], x : x + small.shape[1]] = small
    return grid


def spread(n: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``range(n)`` (a gallery that shows every part of a sorted split)."""
    if n <= k:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)}) if k > 1 else [0]


def _load(weights: Path | None, device: str = "cpu") -> tuple[Any, Any, Any]:
    if weights is None:
        raise UsageError("this kind needs --weights CKPT")
    from cvkit.checkpoint import load_model
    from cvkit.engine.device import select_device

    return load_model(weights, select_device(device))


def _task_and_raw(weights: Path | None, data: str | None, split: str, task_name: str | None = None
                  ) -> tuple[Any, Any]:
    from cvkit.data import load_split
    from cvkit.plugin import get_task

    if weights is not None:
        from cvkit.checkpoint import load_checkpoint

        ckpt = load_checkpoint(weights)
        task = get_task(ckpt.task)
        return task, load_split(task, data or ckpt.info.spec, split)
    if task_name is None:
        raise UsageError("this kind needs --weights CKPT, or --task TASK (with --data SPEC or the task's default)")
    task = get_task(task_name)
    return task, load_split(task, data, split)


def _dataset(weights: Path | None, task_name: str | None, data: str | None, split: str, limit: int,
             out: Path) -> list[Path]:
    task, raw = _task_and_raw(weights, data, split, task_name)
    picks = spread(len(raw.sources), limit)
    images = [task.draw_target(task.picture(raw.sources[i], raw.info), raw.targets[i], raw.info) for i in picks]
    if not images:
        raise CvkitError(f"{raw.info.spec}: split {split!r} is empty")
    path = out / "dataset.png"
    write_image(path, tile(images))
    write_json(out / "dataset.json", {"dataset": raw.info.spec, "split": split,
                                      "sources": [raw.sources[i] for i in picks]})
    return [path]


def _predictions(weights: Path | None, sources: list[str], data: str | None, split: str, limit: int, out: Path,
                 device: str, conf: float | None = None, max_drawn: int | None = None) -> list[Path]:
    import torch

    from cvkit.task import PredictOptions, supported_kwargs

    task, model, ckpt = _load(weights, device)
    if sources:
        paths = list(islice(expand_sources(sources, task.input_extensions), limit))
    else:
        all_sources = _task_and_raw(weights, data, split)[1].sources
        paths = [all_sources[i] for i in spread(len(all_sources), limit)]
    dataset = task.predict_dataset(paths, ckpt.model, ckpt.info)
    dev = next(model.parameters(), torch.zeros(0)).device
    images, records = [], []
    options = PredictOptions(conf=conf, extra={} if max_drawn is None else {"max_drawn": max_drawn})
    with torch.no_grad():
        for i in range(len(dataset)):
            batch = task.collate([dataset[i]])
            pred = task.predict_step(model, batch.to(dev))[0]
            records.append({"source": paths[i], **task.record(pred, ckpt.info)})
            images.append(task.draw(task.picture(paths[i], ckpt.info), pred, ckpt.info,
                                    **supported_kwargs(task.draw, options=options)))
    path = out / "predictions.png"
    write_image(path, tile(images))
    write_json(out / "predictions.json", {"records": records})
    return [path]


def _curves(weights: Path | None, run: Path | None, data: str | None, split: str, out: Path,
            device: str) -> list[Path]:
    folder = run or (weights.parent if weights else None)
    if folder is None:
        raise UsageError("curves needs --run DIR or --weights CKPT (its folder holds metrics.csv)")
    metrics = folder / "metrics.csv"
    written = []
    if metrics.exists():
        with open(metrics, newline="") as fh:
            history = [{k: _num(v) for k, v in row.items()} for row in csv.DictReader(fh)]
        written += plot_curves(folder, history, out)
    elif weights is None:
        raise CvkitError(f"{metrics}: no such file (is {folder} a cvkit run folder?)")
    if weights is not None:
        details = _eval_details(weights, data, split, device)
        written += plot_detail_curves(details, out)
    return written


def _confusion(weights: Path | None, data: str | None, split: str, out: Path, device: str) -> list[Path]:
    details = _eval_details(weights, data, split, device)
    if "confusion_matrix" not in details:
        raise CvkitError("this task's metric has no confusion matrix")
    return [plot_confusion(details, out)]


def plot_confusion(details: dict[str, Any], out: Path) -> Path:
    """``confusion.png`` (rows: true class, normalised per row; counts written in the cells up to 30 classes) and
    ``confusion.json`` from an evaluator's ``details()`` holding ``confusion_matrix``."""
    cm = np.asarray(details["confusion_matrix"])
    classes = details.get("classes") or [d["label"] for d in details.get("per_class", [])] or \
        [str(i) for i in range(len(cm))]
    n = len(cm)
    fig, ax = _figure(max(4, 0.45 * n + 2), max(4, 0.45 * n + 1.5))
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.5 else "black")
        ax.set_xticks(range(n), classes, rotation=90, fontsize=7)
        ax.set_yticks(range(n), classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    path = out / "confusion.png"
    _save_figure(fig, path)
    write_json(out / "confusion.json", {"classes": classes, "matrix": cm.tolist()})
    return path


def _eval_details(weights: Path | None, data: str | None, split: str, device: str) -> dict[str, Any]:
    from cvkit.engine.evaluate_cli import run_eval

    if weights is None:
        raise UsageError("this kind needs --weights CKPT")
    return run_eval(None, weights, data, split, None, None, device=device)["details"]


def plot_detail_curves(details: dict[str, Any], out: Path) -> list[Path]:
    """The curves an evaluator's ``details()`` holds: ``pr_curves`` (precision-recall per class) as
    ``pr_curves.png``, and ``confidence_curves`` as ``f1_confidence.png``, ``precision_confidence.png`` and
    ``recall_confidence.png``; each with a JSON sidecar of its numbers."""
    written = []
    if details.get("pr_curves"):
        written.append(plot_pr(details["pr_curves"], out / "pr_curves.png"))
    if details.get("confidence_curves"):
        written += plot_confidence(details["confidence_curves"], out)
    return written


def _figure(width: float = 6, height: float = 5) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), dpi=100)


def _save_figure(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png")
    plt.close(fig)


def plot_pr(curves: dict[str, dict[str, list[float]]], path: Path) -> Path:
    fig, ax = _figure()
    for name, c in curves.items():
        ax.plot(c["recall"], c["precision"], label=f"{name} (AP {c.get('ap', float('nan')):.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    _save_figure(fig, path)
    write_json(path.with_suffix(".json"), curves)
    return path


def plot_confidence(curves: dict[str, Any], out: Path) -> list[Path]:
    """F1, precision and recall against the confidence threshold: one thin line per class and a thick one for the
    mean over classes, labelled with its best value and where it is reached (the threshold to pick for --conf)."""
    conf = np.asarray(curves["confidence"], np.float64)
    classes = curves["classes"]
    written = []
    for key, title in (("f1", "F1"), ("precision", "precision"), ("recall", "recall")):
        fig, ax = _figure()
        rows = []
        for name, c in classes.items():
            y = np.asarray(c[key], np.float64)
            rows.append(y)
            ax.plot(conf, y, linewidth=1, alpha=0.6, label=name if len(classes) <= 20 else None)
        if rows:
            mean = np.mean(rows, axis=0)
            best = int(np.argmax(mean)) if key != "recall" else 0
            ax.plot(conf, mean, linewidth=3, color="#1f3b99",
                    label=f"all classes {mean[best]:.2f} at {conf[best]:.2f}" if key == "f1" else "all classes")
        ax.set_xlabel("confidence")
        ax.set_ylabel(title)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        ax.set_title(f"{title}-confidence curve")
        path = out / f"{key}_confidence.png"
        _save_figure(fig, path)
        written.append(path)
    write_json(out / "confidence_curves.json", curves)
    return written


def _num(v: str) -> Any:
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v
