"""Evaluation: run a model over a split (or read a predictions file) and compute the task's metrics."""

from __future__ import annotations

import time

import torch
from torch import nn

from cvkit.console import progress_bar, warn
from cvkit.engine.dist import DistContext
from cvkit.engine.loader import EpochSampler, SkipCounter, make_loader
from cvkit.engine.score import EvalResult, evaluate_predictions  # noqa: F401 - re-exported
from cvkit.task import Task, TaskDataset


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
