"""The end of an epoch and of a run: the epoch line's figures, summary.json, curves and validation pictures."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from cvkit.checkpoint import versions
from cvkit.console import info, warn
from cvkit.engine import rundir
from cvkit.engine.loader import SkipCounter

if TYPE_CHECKING:
    from cvkit.engine.train import Run


def epoch_summary(row: dict[str, Any], primary: str, most: int = 4) -> str:
    """The epoch line's figures: the training loss, the primary metric, then other validation metrics up to
    ``most`` in all; the count of the rest, which metrics.csv holds."""
    figures = {k: v for k, v in row.items() if k.startswith(("train_loss", "val_")) and isinstance(v, float)}
    first = [k for k in ("train_loss", f"val_{primary}") if k in figures]
    keys = (first + [k for k in figures if k not in first and k.startswith("val_")]
            + [k for k in figures if k not in first and not k.startswith("val_")])
    text = ", ".join(f"{k} {figures[k]:.4f}" for k in keys[:most])
    return text + (f" (+{len(keys) - most} more in metrics.csv)" if len(keys) > most else "")


def write_summary(run: Run, started: float, skips: SkipCounter) -> None:
    """The finished run's summary.json, curves and validation pictures (rank 0); a picture never fails a run."""
    if not run.dist.is_main:
        return
    ck, cfg = run.ckpt, run.cfg
    doc = {
        "task": run.task.name,
        "model": run.model_cfg.to_dict(),
        "dataset": {**ck.info.to_dict(), "fingerprint": run.dataset_fingerprint},
        "epochs": ck.epoch,
        "stopped_early": ck.epoch < cfg.epochs,
        "steps": ck.step,
        "best": ck.best,
        "final": ck.history[-1] if ck.history else None,
        "seconds": round(time.perf_counter() - started, 3),
        "seed": cfg.seed,
        "deterministic": cfg.deterministic and run.device.type == "cuda",
        "device": str(run.device),
        "world_size": run.dist.world,
        "skipped_inputs": skips.count,
        "versions": versions(),
        "config": cfg.to_dict(),
    }
    rundir.write_json(run.out / "summary.json", doc)
    try:
        rundir.plot_curves(run.out, ck.history)
    except Exception as exc:  # a plot must never lose a finished run
        warn(f"could not draw curves: {exc}")
    _validation_pictures(run)
    info(f"run folder: {run.out}")


def _validation_pictures(run: Run) -> None:
    """Ground truth beside prediction for a few validation images, into the run folder (when available)."""
    try:
        from cvkit.engine.valpics import write_validation_pictures
    except ImportError:
        return
    try:
        write_validation_pictures(run)
    except Exception as exc:  # noqa: BLE001  a picture must never lose a finished run
        warn(f"could not draw validation pictures: {exc}")


__all__ = ["epoch_summary", "write_summary"]
