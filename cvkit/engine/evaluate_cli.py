"""The ``cvkit eval`` command's work, callable from Python too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.data import load_split
from cvkit.errors import UsageError


def run_eval(task: str | None, weights: Path | None, data: str | None, split: str, metric: str | None,
             predictions: Path | None, batch_size: int | None = None, device: str = "auto", workers: int = 0,
             skip_bad: bool = False, images: Path | None = None, videos: Path | None = None) -> dict[str, Any]:
    """Return the eval document of the contract: task, dataset, split, metrics, primary, num_samples, seconds."""

    options: dict[str, Any] = {"skip_bad": skip_bad}
    if images:
        options["images"] = str(images)
    if videos:
        options["videos"] = str(videos)
    if predictions is not None:
        if task is None:
            raise UsageError("eval --predictions needs TASK (e.g. `cvkit eval detect --data ... --predictions ...`)")
        if data is None:
            raise UsageError("eval --predictions needs --data (the annotations to score against)")
        from cvkit.engine.score import evaluate_predictions
        from cvkit.plugin import get_scoring

        t = get_scoring(task)  # torch-free where the plugin declares its scoring side
        check_metric(t, metric)
        raw = load_split(t, data, split, options)
        result = evaluate_predictions(t, raw, predictions, metric, skip_bad=skip_bad)
        info = raw.info
    else:
        if weights is None:
            raise UsageError("eval needs --weights CKPT (or TASK --data SPEC --predictions FILE)")
        import torch

        from cvkit.checkpoint import load_model
        from cvkit.engine.device import configure_threads, select_device
        from cvkit.engine.evaluate import evaluate_model

        dev = select_device(device)
        configure_threads()
        t, model, ckpt = load_model(weights, dev, task)
        check_metric(t, metric)
        raw = load_split(t, data or ckpt.info.spec, split, options)
        _check_classes(t.name, ckpt.info.classes, raw.info.classes, weights, raw.info.spec)
        raw.info.extra = {**ckpt.info.extra, **raw.info.extra}
        dataset = t.dataset(raw, ckpt.model, train=False)
        bs = batch_size or int(ckpt.config.get("batch_size") or t.default_batch_size)
        with torch.no_grad():
            result = evaluate_model(t, model, dataset, dev, bs, workers, skip_bad, metric)
        info = raw.info
    return {
        "task": t.name,
        "dataset": info.spec,
        "split": info.split,
        "metrics": result.metrics,
        "primary": result.primary,
        "num_samples": result.num_samples,
        "skipped": result.skipped + raw.skipped,  # unreadable samples + annotations skipped while parsing
        "seconds": round(result.seconds, 4),
        "details": result.details,
    }


def check_metric(task: Any, metric: str | None) -> None:
    """``--metric`` must be one of the task's ``metric_names()``."""
    if metric is None:
        return
    names = list(task.metric_names())
    if not names:
        raise UsageError(f"--metric {metric}: task {task.name!r} has a single metric family (leave --metric out)")
    if metric not in names:
        raise UsageError(f"--metric {metric}: unknown for task {task.name!r} (choose from {', '.join(names)})")


def _check_classes(task: str, trained: list[str], data: list[str], weights: Path, spec: str) -> None:
    if list(trained) != list(data):
        raise UsageError(
            f"{weights}: trained on {len(trained)} classes that differ from the {len(data)} of {spec} "
            f"(first difference: {_first_diff(trained, data)})"
        )


def _first_diff(a: list[str], b: list[str]) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"class {i} is {x!r} vs {y!r}"
    return f"{len(a)} vs {len(b)} classes"
