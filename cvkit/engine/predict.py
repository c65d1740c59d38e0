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
from cvkit.engine.video_inputs import FrameSpool, Input, VideoVis, input_chunks, inputs
from cvkit.io.atomic import write_image
from cvkit.io.predictions import coco_image_id
from cvkit.io.sources import frames_for
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
            options: PredictOptions = NO_OPTIONS, total: int | None = None, vid_stride: int = 1) -> PredictStats:
    """Predict ``sources`` and write their records. ``options`` (``--conf``, ``--save-masks``) travel with this
    call to the task's ``predict_step``, ``record`` and ``draw``; nothing is left on the task object. ``total``
    (the number of records, when known beforehand) gives the progress bar its ETA.

    For a task that reads images, a video file or ``camera:N`` is read frame by frame (every ``vid_stride``-th):
    one record per frame with ``frame`` and ``time`` after ``source``, and ``save_vis`` writes one annotated video
    per source (cvkit.engine.video_inputs)."""
    stats = PredictStats()
    stems: set[str] = set()  # artefact names already given out in this call
    step_kw = supported_kwargs(task.predict_step, options=options)
    record_kw = supported_kwargs(task.record, options=options)
    csv_kw = supported_kwargs(task.csv_rows, info=info)
    channels_last = _use_channels_last(model)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    spool = FrameSpool()
    videos = VideoVis(save_vis) if save_vis is not None else None
    items = inputs(sources, frames_for(task.input_extensions), vid_stride, spool)
    start = time.perf_counter()
    position = 0
    first: dict[int, int] = {}  # position of the first record of each video source
    ok = False
    try:
        with progress_bar("predict", total) as bar:  # total: inputs counted beforehand (count, rate and ETA)
            for chunk in input_chunks(items, CHUNK, max(batch_size, 8)):
                readable = [i for i, item in enumerate(chunk) if item.error is None]
                out: dict[int, tuple[dict[str, Any], Any]] = {
                    i: (_error(item, item.error), None) for i, item in enumerate(chunk) if item.error is not None}
                done = 0  # records of the chunk written so far: they go out in input order
                dataset = task.predict_dataset([chunk[i].path for i in readable], model_cfg, info)
                loader = make_loader(dataset, task.collate, batch_size, EpochSampler(len(readable), False), workers,
                                     skip_bad=True, pin_memory=device.type == "cuda")
                for batch, skipped in loader:
                    for s in skipped:
                        out[readable[s.index]] = (_error(chunk[readable[s.index]], s.message), None)
                    if batch is not None:
                        batch = batch.to(device, non_blocking=True)
                        if channels_last and isinstance(batch.inputs, torch.Tensor) and batch.inputs.ndim == 4:
                            batch.inputs = batch.inputs.contiguous(memory_format=torch.channels_last)
                        with torch.inference_mode(), torch.autocast(device.type, dtype=amp_dtype,
                                                                    enabled=amp_dtype is not None):
                            preds = task.predict_step(model, batch, **step_kw)
                        for j, pred in zip(batch.indices, preds, strict=True):
                            i = readable[j]
                            kw = {"options": replace(options, position=position + i,
                                                     stem=_unique_stem(chunk[i].name, stems))} if record_kw else {}
                            out[i] = ({**_head(chunk[i]), "task": task.name, **task.record(pred, info, **kw)}, pred)
                    done = _write_ready(task, chunk, out, done, position, info, writer, stats, bar, csv_kw, save_vis,
                                        options, videos, first, vid_stride)
                _write_ready(task, chunk, out, done, position, info, writer, stats, bar, csv_kw, save_vis, options,
                             videos, first, vid_stride)
                FrameSpool.release(chunk)
                position += len(chunk)
        ok = True
    finally:
        if videos is not None:
            videos.close(ok)
        spool.close()
    stats.seconds = time.perf_counter() - start
    return stats


def _write_ready(task: Task, chunk: list[Input], out: dict[int, tuple[dict[str, Any], Any]], done: int,
                 position: int, info: DatasetInfo, writer: Writer, stats: PredictStats, bar: Any,
                 csv_kw: dict[str, Any], save_vis: Path | None, options: PredictOptions, videos: VideoVis | None,
                 first: dict[int, int], stride: int) -> int:
    """Write the records ready from input ``done`` of the chunk on, in order; return how many are written."""
    while done in out:
        rec, pred = out.pop(done)
        item = chunk[done]
        stats.inputs += 1
        bar.advance(1)
        if pred is None:
            stats.errors += 1
            warn(rec["error"])
            writer.write(rec, [{**_head(item), "error": rec["error"]}], [])
        else:
            rows = task.csv_rows(rec, **csv_kw)
            if item.frame is not None:
                rows = [{**_head(item), **row} for row in rows]
            writer.write(rec, rows, _coco(task, pred, info, _image_id(item.name, info), writer))
            if save_vis is not None:
                _save_vis(task, item, pred, info, save_vis, position + done, options, videos,
                          first.setdefault(item.run, position + done), stride)
        done += 1
    writer.flush()
    return done


def _head(item: Input) -> dict[str, Any]:
    """``source`` (as given), and for a video frame its ``frame`` index and ``time`` in seconds."""
    if item.frame is None:
        return {"source": item.source}
    return {"source": item.source, "frame": item.frame, "time": item.time}


def _error(item: Input, message: str) -> dict[str, Any]:
    return {**_head(item), "error": message}


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


def _image_id(source: str, info: DatasetInfo) -> Any:
    """The dataset's own image id when known (COCO file names), else the id ``eval --predictions`` matches back to
    the file (:func:`cvkit.io.predictions.coco_image_id`)."""
    ids = info.extra.get("image_ids") or {}
    name = Path(source).name
    if name in ids:
        return ids[name]
    return coco_image_id(source)


def _save_vis(task: Task, item: Input, pred: Any, info: DatasetInfo, folder: Path, position: int,
              options: PredictOptions = NO_OPTIONS, videos: VideoVis | None = None, first: int = 0,
              stride: int = 1) -> None:
    """An image's drawing as ``DIR/<position>_<stem>.png``; a video frame's into its source's annotated video."""
    drawn = task.draw(task.picture(item.path, info), pred, info, **supported_kwargs(task.draw, options=options))
    if item.frame is not None and videos is not None:
        videos.add(item, first, stride, drawn)
    else:
        write_image(folder / f"{position:06d}_{Path(item.source).stem}.png", drawn)
