"""The ``cvkit predict`` command's work: load the model (checkpoint or exported), then stream predictions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.console import info, progress_shown
from cvkit.engine.predict import PredictStats, predict
from cvkit.errors import UsageError
from cvkit.io.sources import count_sources, expand_sources, frames_for
from cvkit.io.writers import make_writer
from cvkit.task import PredictOptions


def run_predict(task: str | None, weights: Path, sources: list[str], fmt: str, output: str, img_size: int | None,
                batch_size: int, conf: float | None, backend: str, device: str, workers: int,
                save_vis: Path | None, amp: bool = False, save_masks: Path | None = None,
                task_args: dict[str, Any] | None = None, vid_stride: int = 1) -> PredictStats:
    from dataclasses import replace

    from cvkit.engine.device import configure_threads, select_device

    dev = select_device(device)
    configure_threads()
    t, model, model_cfg, ds_info = _load(task, weights, backend, dev)
    if img_size:
        model_cfg = replace(model_cfg, img_size=img_size)
    options = PredictOptions(conf=conf, save_masks=save_masks, extra=dict(task_args or {}))
    writer = make_writer(fmt, output)
    ok = False
    try:
        import torch

        amp_dtype = torch.bfloat16 if amp and dev.type == "cuda" else None
        frames_of = frames_for(t.input_extensions)  # videos an image task reads frame by frame
        extensions = (*t.input_extensions, *frames_of)  # what a folder is searched for
        # files (and the frames videos declare) counted first: a bar with an ETA
        total = count_sources(sources, extensions, frames_of, vid_stride) if progress_shown() else None
        stats = predict(t, model, model_cfg, ds_info, expand_sources(sources, extensions), writer, dev,
                        batch_size, workers, save_vis, amp_dtype, options, total=total, vid_stride=vid_stride)
        ok = True
    finally:
        writer.close(ok)
    info(f"{stats.inputs} input(s) in {stats.seconds:.2f} s ({stats.inputs / max(stats.seconds, 1e-9):.1f}/s)"
         + (f", {stats.errors} unreadable" if stats.errors else ""))
    return stats


def _load(task: str | None, weights: Path, backend: str, device: Any) -> tuple[Any, Any, Any, Any]:
    from cvkit.backends import format_of, load_exported

    exported = format_of(weights)
    if backend == "onnxruntime" and exported != "onnx":
        raise UsageError(f"--backend onnxruntime needs an exported .onnx model (got {weights}); run "
                         "`cvkit export --weights CKPT --format onnx`")
    if exported:
        return load_exported(weights, task, device)
    from cvkit.checkpoint import load_model

    t, model, ckpt = load_model(weights, device, task)
    return t, model, ckpt.model, ckpt.info
