"""Evaluation: run a model over a split (or read a predictions file) and compute the task's metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cvkit.console import progress_bar, warn
from cvkit.engine.dist import DistContext
from cvkit.engine.loader import EpochSampler, SkipCounter, make_loader
from cvkit.errors import BadInput, CvkitError
from cvkit.io.predictions import BadRecords, read_prediction_records
from cvkit.task import RawSplit, Task, TaskDataset


@dataclass
class EvalResult:
    metrics: dict[str, float]
    primary: str
    num_samples: int
    seconds: float
    skipped: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    higher_is_better: bool = True


def evaluate_model(task: Task, model: nn.Module, dataset: TaskDataset, device: torch.device, batch_size: int,
                   workers: int = 0, skip_bad: bool = False, metric: str | None = None,
                   dist: DistContext | None = None, amp_dtype: torch.dtype | None = None,
                   show_progress: bool = True, skips: SkipCounter | None = None) -> EvalResult:
    """Each rank predicts a disjoint share of the split; evaluator states are gathered so that every sample
    counts exactly once (no padded duplicates), and the metrics are computed identically on every rank."""
    dist = dist or DistContext()
    start = time.perf_counter()
    evaluator = task.evaluator(dataset.info, metric)
    sampler = EpochSampler(len(dataset), shuffle=False, rank=dist.rank, world=dist.world, pad=False)
    loader = make_loader(dataset, task.collate, batch_size, sampler, workers, skip_bad,
                         pin_memory=device.type == "cuda")
    skips = skips or SkipCounter(warn)
    model.eval()
    seen = 0
    with torch.no_grad(), progress_bar("eval", len(loader), enabled=show_progress and dist.is_main) as bar:
        for batch, skipped in loader:
            skips.add(skipped)
            if batch is not None:
                with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                    preds = task.predict_step(model, batch.to(device, non_blocking=True))
                evaluator.update(batch.indices, preds, [dataset.target(i) for i in batch.indices])
                seen += len(batch)
            bar.advance()
    states = dist.gather((evaluator.state(), seen, sorted(skips.seen)))
    evaluator.merge(s[0] for s in states)
    total = sum(s[1] for s in states)
    skipped = len({m for s in states for m in s[2]})
    return EvalResult(evaluator.compute(), evaluator.primary, total, time.perf_counter() - start, skipped,
                      evaluator.details(), evaluator.higher_is_better)


def evaluate_predictions(task: Task, raw: RawSplit, path: Path, metric: str | None = None,
                         skip_bad: bool = False) -> EvalResult:
    """Score a predictions file against the annotations alone (no image is decoded).

    Records are matched to samples by path as given, then by resolved path, then by file stem. Every JSONL record
    is validated (cvkit.io.predictions); a bad one stops with its file and line, or is skipped and counted."""
    start = time.perf_counter()
    if not path.exists():
        raise CvkitError(f"{path}: no such predictions file")
    bad = BadRecords(skip_bad)
    pairs = task.read_predictions_file(path, raw.info)
    if pairs is None:
        pairs = _read_jsonl(task, path, raw, bad)
    index = _source_index(raw.sources)
    evaluator = task.evaluator(raw.info, metric)
    matched: set[int] = set()
    unmatched = 0
    for source, pred in pairs:
        i = _match(index, source)
        if i is None:
            unmatched += 1
            continue
        evaluator.update([i], [pred], [raw.targets[i]])
        matched.add(i)
    if not matched:
        raise CvkitError(f"{path}: no prediction matches an image of {raw.info.spec} split {raw.info.split!r}")
    if unmatched:
        warn(f"{path}: {unmatched} prediction record(s) name no image of the split; ignored")
    missing = len(raw.sources) - len(matched)
    if missing:
        warn(f"{path}: {missing} image(s) of the split have no prediction (scored as no prediction)")
        for i in range(len(raw.sources)):
            if i not in matched:
                evaluator.update([i], [task.parse_record({}, raw.info)], [raw.targets[i]])
    bad.report()
    return EvalResult(evaluator.compute(), evaluator.primary, len(raw.sources), time.perf_counter() - start,
                      bad.count, evaluator.details(), evaluator.higher_is_better)


def _read_jsonl(task: Task, path: Path, raw: RawSplit, bad: BadRecords):
    for lineno, rec in read_prediction_records(path, raw.info.classes, bad):
        try:
            pred = task.parse_record(rec, raw.info)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            bad.bad(BadInput(path, f"malformed {task.name} record ({type(exc).__name__}: {exc})",
                             where=f"line {lineno}"))
            continue
        yield rec["source"], pred


def _source_index(sources: list[str]) -> dict[str, dict[str, int]]:
    by_path, by_resolved, by_stem = {}, {}, {}
    for i, s in enumerate(sources):
        by_path.setdefault(s, i)
        by_resolved.setdefault(str(Path(s).resolve()), i)
        by_stem.setdefault(Path(s).stem, i)
    return {"path": by_path, "resolved": by_resolved, "stem": by_stem}


def _match(index: dict[str, dict[str, int]], source: str) -> int | None:
    if source in index["path"]:
        return index["path"][source]
    resolved = str(Path(source).resolve())
    if resolved in index["resolved"]:
        return index["resolved"][resolved]
    return index["stem"].get(Path(source).stem)
