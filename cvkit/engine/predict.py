"""Streaming prediction: sources are read lazily in chunks, decoded by the DataLoader while the model runs,
and each record is written as soon as its batch is done, in input order (constant memory for any count)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from cvkit.console import progress_bar, warn
from cvkit.engine.loader import EpochSampler, make_loader
from cvkit.io.atomic import write_image
from cvkit.io.sources import chunks
from cvkit.io.writers import Writer
from cvkit.task import NO_OPTIONS, DatasetInfo, ModelConfig, PredictOptions, Task, supported_kwargs

CHUNK = 2048


@dataclass
class PredictStats:
    inputs: int = 0
    errors: int = 0
    seconds: float = 0.0


def predict(task: Task, model: Any, model_cfg: ModelConfig, info: DatasetInfo, sources: Iterable[str],
            writer: Writer, device: torch.device, batch_size: int = 16, workers: int = 0,
            save_vis: Path | None = None, amp_dtype: torch.dtype | None = None,
            options: PredictOptions = NO_OPTIONS, total: int | None = None) -> PredictStats:
    """Predict ``sources`` and write their records. ``options`` (``--conf``, ``--save-masks``) travel with this
    call to the task's ``predict_step``, ``record`` and ``draw``; nothing is left on the task object. ``total``
    (the number of sources, when known beforehand) gives the progress bar its ETA."""
    stats = PredictStats()
    stems: set[str] = set()  # artefact names already given out in this call
    step_kw = supported_kwargs(task.predict_step, options=options)
    record_kw = supported_kwargs(task.record, options=options)
    csv_kw = supported_kwargs(task.csv_rows, info=info)
    channels_last = _use_channels_last(model)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    start = time.perf_counter()
    position = 0
    with progress_bar("predict", total) as bar:  # total: inputs counted beforehand (count, rate and ETA)
        for chunk in chunks(sources, CHUNK):
            dataset = task.predict_dataset(chunk, model_cfg, info)
            loader = make_loader(dataset, task.collate, batch_size, EpochSampler(len(chunk), False), workers,
                                 skip_bad=True, pin_memory=device.type == "cuda")
            for batch, skipped in loader:
                out: dict[int, tuple[dict[str, Any], Any]] = {}
                for s in skipped:
                    out[s.index] = ({"source": chunk[s.index], "error": s.message}, None)
                if batch is not None:
                    batch = batch.to(device, non_blocking=True)
                    if channels_last and isinstance(batch.inputs, torch.Tensor) and batch.inputs.ndim == 4:
                        batch.inputs = batch.inputs.contiguous(memory_format=torch.channels_last)
                    with torch.inference_mode(), torch.autocast(device.type, dtype=amp_dtype,
                                                                enabled=amp_dtype is not None):
                        preds = task.predict_step(model, batch, **step_kw)
                    for i, pred in zip(batch.indices, preds, strict=True):
                        kw = {"options": replace(options, position=position + i,
                                                 stem=_unique_stem(chunk[i], stems))} if record_kw else {}
                        rec = {"source": chunk[i], "task": task.name, **task.record(pred, info, **kw)}
                        out[i] = (rec, pred)
                for i in sorted(out):
                    rec, pred = out[i]
                    image_id = _image_id(chunk[i], position + i, info)
                    if pred is None:
                        stats.errors += 1
                        warn(rec["error"])
                        writer.write(rec, [{"source": rec["source"], "error": rec["error"]}], [])
                        continue
                    writer.write(rec, task.csv_rows(rec, **csv_kw), _coco(task, pred, info, image_id, writer))
                    if save_vis is not None:
                        _save_vis(task, chunk[i], pred, info, save_vis, position + i, options)
                writer.flush()
                stats.inputs += len(out)
                bar.advance(len(out))
            position += len(chunk)
    stats.seconds = time.perf_counter() - start
    return stats


def _unique_stem(source: str, taken: set[str]) -> str:
    """The source's file stem, or ``<stem>_2``, ``<stem>_3``... when an earlier input of the call had it."""
    stem = Path(source).stem or "input"
    name, k = stem, 1
    while name in taken:
        k += 1
        name = f"{stem}_{k}"
    taken.add(name)
    return name


def _use_channels_last(model: Any) -> bool:
    """NHWC is the faster layout for 2-D convolutions on CPUs (oneDNN) and on tensor-core GPUs."""
    if not isinstance(model, torch.nn.Module):
        return False
    convs2d = any(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    return convs2d and all(p.ndim != 5 for p in model.parameters())  # channels_last is for 4-D weights only


def _coco(task: Task, pred: Any, info: DatasetInfo, image_id: Any, writer: Writer) -> list[dict[str, Any]]:
    from cvkit.io.writers import CocoWriter

    return task.coco_results(pred, info, image_id) if isinstance(writer, CocoWriter) else []


def _image_id(source: str, position: int, info: DatasetInfo) -> Any:
    """The dataset's own image id when known (COCO file names), else a numeric file stem, else position + 1."""
    ids = info.extra.get("image_ids") or {}
    name = Path(source).name
    if name in ids:
        return ids[name]
    stem = Path(source).stem
    return int(stem) if stem.isdigit() else position + 1


def _save_vis(task: Task, source: str, pred: Any, info: DatasetInfo, folder: Path, position: int,
              options: PredictOptions = NO_OPTIONS) -> None:
    drawn = task.draw(task.picture(source, info), pred, info, **supported_kwargs(task.draw, options=options))
    write_image(folder / f"{position:06d}_{Path(source).stem}.png", drawn)
