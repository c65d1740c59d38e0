"""Validation pictures written into a run folder after training (like Ultralytics' ``val_batch*_labels`` /
``val_batch*_pred``): ground truth beside prediction for a few validation samples spread over the split, wrong ones
framed in red, in mosaics ``val_batch0.png``, ``val_batch1.png``... with ``val_batches.json`` listing what each shows.

The core knows no task: each sample is drawn by the task's optional ``Task.validation_picture`` hook (a task that
does not define it gets no pictures, and nothing is predicted). When the run's last evaluation details are at hand
(``details=``, or ``run.last_eval``), their curves are drawn too: ``pr_curves.png``, the confidence curves
(``f1_confidence.png``, ``precision_confidence.png``, ``recall_confidence.png``) and ``confusion.png``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from cvkit.engine.rundir import write_json
from cvkit.engine.visualize import plot_confusion, plot_detail_curves, spread, tile
from cvkit.errors import CvkitError
from cvkit.io.atomic import write_image
from cvkit.task import Task, ValidationPicture
from cvkit.vision.draw import FONT, WRONG

SAMPLES = 16  # validation samples drawn
PER_MOSAIC = 8  # samples per val_batch*.png
HEIGHT = 256  # each side of a pair is scaled to this height


def write_validation_pictures(run: Any, details: dict[str, Any] | None = None, samples: int = SAMPLES,
                              per_mosaic: int = PER_MOSAIC) -> list[Path]:
    """Draw ``samples`` validation samples of ``run`` (a :class:`cvkit.engine.train.Run`) with its model as it is
    now into ``run.out``; returns the files written (none when the task draws no validation pictures)."""
    if details is None:
        details = getattr(getattr(run, "last_eval", None), "details", None)
    written = _curves(details, run.out) if details else []
    task, ds = run.task, run.val_set
    if getattr(type(task), "validation_picture", Task.validation_picture) is Task.validation_picture or not len(ds):
        return written
    drawn = _draw(run, spread(len(ds), samples))
    if not drawn:
        return written
    entries = []
    for m in range(0, len(drawn), per_mosaic):
        part = drawn[m : m + per_mosaic]
        path = run.out / f"val_batch{m // per_mosaic}.png"
        write_image(path, mosaic([vp for _, _, vp in part], [Path(src).name for _, src, _ in part]))
        written.append(path)
        entries += [{"index": i, "source": src, "wrong": bool(vp.wrong), "note": vp.note, "picture": path.name}
                    for i, src, vp in part]
    write_json(run.out / "val_batches.json", {"split": ds.info.split, "samples": entries,
                                              "wrong": sum(e["wrong"] for e in entries)})
    return written


def _curves(details: dict[str, Any], out: Path) -> list[Path]:
    written = plot_detail_curves(details, out)
    if "confusion_matrix" in details:
        written.append(plot_confusion(details, out))
    return written


def _draw(run: Any, picks: list[int]) -> list[tuple[int, str, ValidationPicture]]:
    """Predict the picked samples in batches and let the task draw each; unreadable samples are left out."""
    task, ds, model = run.task, run.val_set, getattr(run, "eval_module", run.module)  # the EMA's with --ema
    size = max(1, min(int(getattr(run.cfg, "batch_size", 8) or 8), 16))
    was_training = model.training
    model.eval()
    drawn = []
    try:
        with torch.no_grad():
            for start in range(0, len(picks), size):
                ok, samples = [], []
                for i in picks[start : start + size]:
                    try:
                        samples.append(ds[i])
                        ok.append(i)
                    except (CvkitError, OSError):
                        continue
                if not samples:
                    continue
                batch = task.collate(samples)
                batch.indices = ok
                for i, pred in zip(ok, task.predict_step(model, batch.to(run.device)), strict=True):
                    try:
                        image = task.picture(ds.source(i), ds.info)
                    except (CvkitError, OSError):
                        continue
                    vp = task.validation_picture(image, pred, ds.target(i), ds.info)
                    if vp is not None:
                        drawn.append((i, ds.source(i), vp))
    finally:
        model.train(was_training)
    return drawn


def _fit_height(image: np.ndarray, height: int) -> np.ndarray:
    h, w = image.shape[:2]
    f = height / h
    return cv2.resize(image, (max(1, round(w * f)), height), interpolation=cv2.INTER_NEAREST if f > 1 else
                      cv2.INTER_AREA)


def pair_cell(vp: ValidationPicture, title: str, height: int = HEIGHT) -> np.ndarray:
    """One sample: a title band (red when wrong) over ground truth | prediction, framed in red when wrong."""
    truth, pred = _fit_height(np.asarray(vp.truth), height), _fit_height(np.asarray(vp.prediction), height)
    gap = np.full((height, 6, 3), 255, np.uint8)
    pair = np.concatenate([truth, gap, pred], 1)
    band = np.zeros((30, pair.shape[1], 3), np.uint8)
    band[:] = WRONG if vp.wrong else (40, 40, 40)
    text = f"{title}  {vp.note}".strip()
    while len(text) > 4 and cv2.getTextSize(text, FONT, 0.55, 1)[0][0] > pair.shape[1] - 8:
        text = text[:-4] + "..."
    cv2.putText(band, text, (6, 21), FONT, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    cell = np.concatenate([band, pair], 0)
    if vp.wrong:
        cv2.rectangle(cell, (0, 0), (cell.shape[1] - 1, cell.shape[0] - 1), WRONG, 4)
    return cell


def mosaic(pictures: list[ValidationPicture], titles: list[str], height: int = HEIGHT) -> np.ndarray:
    """Pairs laid out in a grid under a header that says which side is which."""
    cells = [pair_cell(vp, t, height) for vp, t in zip(pictures, titles, strict=True)]
    grid = tile(cells, cols=2 if len(cells) > 1 else 1, cell=max(max(c.shape[:2]) for c in cells))
    header = np.full((34, grid.shape[1], 3), 24, np.uint8)
    wrong = sum(bool(vp.wrong) for vp in pictures)
    cv2.putText(header, f"left: ground truth   right: prediction   red: wrong ({wrong} of {len(pictures)})",
                (8, 23), FONT, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([header, grid], 0)
