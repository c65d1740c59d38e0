"""The training loop shared by every task: epochs of steps, evaluation, checkpoints, interruption and resume."""

from __future__ import annotations

import math
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cvkit import model as model_protocol
from cvkit.checkpoint import Checkpoint, load_checkpoint, save_checkpoint, versions
from cvkit.console import info, progress_bar, warn
from cvkit.contract import supported_kwargs
from cvkit.data import load_split
from cvkit.engine import rundir
from cvkit.engine.config import TrainConfig
from cvkit.engine.device import configure_threads, select_device
from cvkit.engine.dist import DistContext, init_from_env
from cvkit.engine.ema import ModelEMA
from cvkit.engine.evaluate import EvalResult, evaluate_model
from cvkit.engine.finish import epoch_summary, write_summary
from cvkit.engine.loader import EpochSampler, SkipCounter, decode_ahead, make_loader, workers_for
from cvkit.engine.mix import TrainOptions, batch_seed, check_options
from cvkit.engine.optim import build_optimizer, build_scheduler, load_optimizer_state
from cvkit.engine.pretrained import load_pretrained
from cvkit.engine.setup import apply_task_defaults, check_train_options, init_weights_from, merge_resume_config
from cvkit.engine.state import capture_rng, restore_rng, seed_everything
from cvkit.errors import CvkitError
from cvkit.io.atomic import atomic_copy
from cvkit.plugin import get_task
from cvkit.task import ModelConfig, Task, TaskDataset


class Interrupted(CvkitError):
    """Training stopped on SIGINT/SIGTERM after saving ``last.pt``; the CLI exits 130."""

    exit_code = 130

    def __init__(self, checkpoint: Path) -> None:
        self.checkpoint = checkpoint
        super().__init__(f"interrupted; resume with: cvkit train --resume {checkpoint}")


received_signal: str | None = None  # name of the signal that asked this process to stop (SIGINT, SIGTERM)


class _StopFlag:
    """First SIGINT/SIGTERM asks the loop to stop after the current step; a second one stops at once."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        global received_signal
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        received_signal = signal.Signals(signum).name  # reported by the distributed launcher with the rank
        warn("stopping after this step and saving last.pt (press Ctrl-C again to abort at once)")

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


@dataclass
class Run:
    """Everything one training run holds; built by ``prepare`` and driven by ``fit``."""

    cfg: TrainConfig
    task: Task
    dist: DistContext
    device: torch.device
    model: nn.Module
    model_cfg: ModelConfig
    train_set: TaskDataset
    val_set: TaskDataset
    out: Path
    ckpt: Checkpoint
    dataset_fingerprint: dict[str, Any]
    annotation_skips: int = 0  # RawSplit.skipped of the train and val splits (--skip-bad)
    ema: ModelEMA | None = None  # --ema: the averaged weights (set up by ``fit``)
    last_eval: EvalResult | None = None  # the latest validation (its details feed the run folder's curves)
    workers: int = 0  # loader processes (--workers, with auto resolved for this machine)

    @property
    def module(self) -> nn.Module:
        """The model being optimised (unwrapped from DistributedDataParallel)."""
        return getattr(self.model, "module", self.model)

    @property
    def eval_module(self) -> nn.Module:
        """The model that validation, the checkpoints and pictures use: the EMA's with --ema."""
        return self.ema.module if self.ema is not None else self.module


def train(cfg: TrainConfig, explicit: set[str] | None = None) -> Path:
    """Train as configured and return the run folder (only rank 0 writes it)."""
    run = prepare(cfg, explicit or set())
    with _StopFlag() as stop:
        fit(run, stop)
    return run.out


def prepare(cfg: TrainConfig, explicit: set[str]) -> Run:
    resume = load_checkpoint(cfg.resume) if cfg.resume else None
    if resume is not None:
        cfg = merge_resume_config(cfg, resume, explicit)
    task = get_task(cfg.task)
    if resume is not None and resume.task != task.name:
        raise CvkitError(f"{cfg.resume}: is a {resume.task!r} checkpoint, cannot resume task {task.name!r}")
    check_options(task, {"label_smoothing": cfg.label_smoothing, "mixup": cfg.mixup, "cutmix": cfg.cutmix})
    check_train_options(cfg, task)
    apply_task_defaults(cfg, task)
    device_kind = "cuda" if cfg.device.startswith("cuda") or (cfg.device == "auto" and torch.cuda.is_available()) \
        else "cpu"
    dist = init_from_env(device_kind)
    device = select_device(cfg.device, dist.local_rank)
    configure_threads(dist.world if device.type == "cpu" else 1)
    workers = workers_for(cfg.workers, device.type, dist.world)
    seed_everything(cfg.seed, cfg.deterministic and device.type == "cuda")

    opts = cfg.data_options()
    raw_train = load_split(task, cfg.data, cfg.train_split, opts)
    raw_val = load_split(task, cfg.data, cfg.val_split, opts)
    model_cfg = ModelConfig(cfg.model, cfg.img_size, dict(cfg.model_args), task.mean, task.std,
                            cfg.pretrained is True)
    model = task.build_model(model_cfg, raw_train.info)
    declared = model_protocol.input_config(model)  # the model's own normalisation wins over the task's
    if "mean" in declared or "std" in declared:
        model_cfg = replace(model_cfg, mean=declared.get("mean", model_cfg.mean),
                            std=declared.get("std", model_cfg.std))
    if cfg.weights and resume is None:
        init_weights_from(model, cfg.weights)
    if isinstance(cfg.pretrained, str) and resume is None:
        report = load_pretrained(model, cfg.pretrained)
        if dist.is_main:
            info(report.line(cfg.pretrained))
    if cfg.freeze_backbone:
        task.freeze_backbone(model)
    model.to(device)
    if device.type == "cuda" and any(isinstance(m, nn.Conv2d) for m in model.modules()):
        model.to(memory_format=torch.channels_last)  # NHWC: the layout tensor cores are fastest with
    if resume is not None:  # with --ema, state_dict holds the average and ema["raw"] the optimised weights
        model.load_state_dict(resume.ema["raw"] if resume.ema else resume.state_dict)
    ckpt = resume or Checkpoint(task.name, model_cfg, raw_train.info, {}, cfg.to_dict())
    ckpt.config = cfg.to_dict()
    out = Path(cfg.out) if cfg.out else (resume.path.parent if resume is not None and resume.path else None)
    if dist.is_main:
        out = rundir.new_run_dir(task.name, str(out) if out else None, exist_ok=cfg.exist_ok,
                                 resume=resume is not None)
        rundir.write_config(out, cfg.to_dict())
    out = Path(dist.broadcast(str(out) if out else ""))
    fp = rundir.fingerprint(raw_train.files + raw_val.files, raw_train.sources + raw_val.sources)
    skipped = raw_train.skipped + (raw_val.skipped if raw_val.info.split != raw_train.info.split else 0)
    return Run(cfg, task, dist, device, model, model_cfg, task.dataset(raw_train, model_cfg, train=True),
               task.dataset(raw_val, model_cfg, train=False), out, ckpt, fp, skipped, workers=workers)


def fit(run: Run, stop: _StopFlag) -> None:
    cfg, task, dist, device = run.cfg, run.task, run.dist, run.device
    started = time.perf_counter()
    skips = SkipCounter(warn, run.annotation_skips)
    if run.ckpt.epoch == 0 and run.ckpt.epoch_step == 0 and _fit_in_one_pass(run, skips):
        cfg.epochs = 1
        result = _evaluate(run, skips)
        run.ckpt.epoch = 1
        _end_epoch(run, result, {"epoch": 1, "step": 0}, time.perf_counter() - started, skips)
        write_summary(run, started, skips)
        _finished_anyway(run, stop)
        return

    steps_per_epoch = math.ceil(len(EpochSampler(len(run.train_set), True, world=dist.world, rank=dist.rank,
                                                 pad=True)) / cfg.batch_size)
    if steps_per_epoch == 0:
        raise CvkitError(f"{cfg.data or task.spec.default_data}: the {cfg.train_split!r} split is empty")
    optimizer = build_optimizer(run.module, cfg.optimizer, cfg.lr, cfg.weight_decay, cfg.momentum)
    updates_per_epoch = math.ceil(steps_per_epoch / cfg.accumulate)  # --accumulate: optimizer steps per epoch
    scheduler = build_scheduler(optimizer, cfg.epochs * updates_per_epoch,
                                round(cfg.warmup_epochs * updates_per_epoch), cfg.schedule)
    amp_dtype = _amp_dtype(cfg, device)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    ck = run.ckpt
    if ck.optimizer:
        load_optimizer_state(optimizer, ck.optimizer)
        scheduler.load_state_dict(ck.scheduler)
        if ck.scaler:
            scaler.load_state_dict(ck.scaler)
        restore_rng(ck.rng)
    if cfg.ema:
        run.ema = ModelEMA(run.module, cfg.ema_decay)
        if ck.ema:  # resuming: the average so far and its update count
            run.ema.module.load_state_dict(ck.state_dict)
            run.ema.updates = int(ck.ema["updates"])
    elif ck.ema and dist.is_main:
        warn("resuming without --ema: training continues from the optimised weights; the average is dropped")
    takes_options = bool(supported_kwargs(task.train_step, options=None))
    if dist.enabled:
        run.model = nn.parallel.DistributedDataParallel(
            run.model, device_ids=[device.index] if device.type == "cuda" else None)
    if ck.epoch >= cfg.epochs:
        info(f"already trained for {ck.epoch} epochs (raise --epochs to continue)")
    for epoch in range(ck.epoch, cfg.epochs):
        if _patience_exhausted(run):
            break
        start_pos = ck.epoch_step * cfg.batch_size if epoch == ck.epoch else 0
        sums = dict(ck.partial or {}) if start_pos else {}
        sampler = EpochSampler(len(run.train_set), True, cfg.seed, epoch, dist.rank, dist.world, True, start_pos)
        loader = make_loader(run.train_set, task.collate, cfg.batch_size, sampler, run.workers, cfg.skip_bad,
                             pin_memory=device.type == "cuda")
        # DataLoader draws a base seed as its iterator starts: from a generator of its own, not from the run's
        # stream, which a run resumed mid-epoch is at another point of (dropout would then differ)
        loader.generator = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
        run.model.train()
        epoch_start = time.perf_counter()
        step_in_epoch = ck.epoch_step if start_pos else 0
        pending = 0  # batches whose gradients wait for the optimizer step (--accumulate)
        wait = 0.0
        with progress_bar(f"epoch {epoch + 1}/{cfg.epochs}", steps_per_epoch, enabled=dist.is_main) as bar, \
                decode_ahead(run.train_set, sampler, run.workers):  # stopped when the epoch ends or fails
            bar.advance(step_in_epoch)
            it = iter(loader)
            while True:
                t0 = time.perf_counter()
                try:
                    batch, skipped = next(it)
                except StopIteration:
                    break
                wait += time.perf_counter() - t0
                skips.add(skipped)
                step_in_epoch += 1
                update = step_in_epoch % cfg.accumulate == 0 or step_in_epoch == steps_per_epoch
                stepped = False
                if batch is not None:
                    options = TrainOptions(cfg.label_smoothing, cfg.mixup, cfg.cutmix,
                                           batch_seed(cfg.seed, epoch, step_in_epoch, dist.rank),
                                           len(run.train_set.info.classes)) if takes_options else None
                    logs = _step(run, batch.to(device, non_blocking=True), optimizer, scaler, amp_dtype, cfg,
                                 pending == 0, update, options)
                    pending, stepped = (0, True) if update else (pending + 1, False)
                    ck.step += 1
                    _check_finite(logs, epoch, step_in_epoch)
                    for k, v in logs.items():
                        sums[k] = sums.get(k, 0.0) + v
                    sums["n"] = sums.get("n", 0) + 1
                    bar.advance(status=f"loss {logs['loss']:.4f}")
                elif update and pending:  # a skipped last batch of a group: apply what the group accumulated
                    _update(run, optimizer, scaler, cfg)
                    pending, stepped = 0, True
                if stepped:
                    scheduler.step()
                    if run.ema is not None:
                        run.ema.update(run.module)
                    if cfg.save_every and scheduler.last_epoch % cfg.save_every == 0 \
                            and step_in_epoch < steps_per_epoch:  # the epoch's end saves anyway
                        ck.epoch_step, ck.partial, ck.epoch = step_in_epoch, dict(sums), epoch
                        _save(run, optimizer, scheduler, scaler, "last.pt")
                if dist.any(stop.requested) and step_in_epoch < steps_per_epoch and update:
                    ck.epoch_step, ck.partial = step_in_epoch, sums
                    ck.epoch = epoch
                    path = _save(run, optimizer, scheduler, scaler, "last.pt")
                    raise Interrupted(path)
        train_time = time.perf_counter() - epoch_start
        n = max(1, sums.pop("n", 0))
        row: dict[str, Any] = {"epoch": epoch + 1, "step": ck.step, "lr": optimizer.param_groups[0]["lr"]}
        row.update({f"train_{k}": v / n for k, v in sums.items()})
        row["data_wait"] = wait / train_time if train_time > 0 else 0.0
        ck.epoch, ck.epoch_step, ck.partial = epoch + 1, 0, None
        result = _evaluate(run, skips, amp_dtype)
        _end_epoch(run, result, row, train_time, skips, optimizer, scheduler, scaler)
        if dist.any(stop.requested) and epoch + 1 < cfg.epochs:
            raise Interrupted(run.out / "last.pt")
    write_summary(run, started, skips)
    _finished_anyway(run, stop)


def _patience_exhausted(run: Run) -> bool:
    """``--patience N``: N finished epochs since the best primary metric (from the checkpoint, so a resumed run
    keeps counting); says so once and stops before the next epoch."""
    ck, patience = run.ckpt, run.cfg.patience
    if not patience or ck.best is None or ck.epoch_step or ck.epoch - ck.best["epoch"] < patience:
        return False
    if run.dist.is_main:
        info(f"early stop after epoch {ck.epoch}: no better {ck.best['metric']} for {patience} epochs "
             f"(best {ck.best['value']:.4f} at epoch {ck.best['epoch']}, kept in best.pt)")
    return True


def _finished_anyway(run: Run, stop: _StopFlag) -> None:
    """A stop request that came as the last epoch ended: the run is complete, say so (exit 0, nothing to resume)."""
    if stop.requested and run.dist.is_main:
        warn(f"the stop request came after the last step: the run finished all {run.cfg.epochs} epochs "
             f"(nothing to resume; {run.out})")


def _step(run: Run, batch: Any, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
          amp_dtype: torch.dtype | None, cfg: TrainConfig, first: bool = True, update: bool = True,
          options: TrainOptions | None = None) -> dict[str, float]:
    """One batch: forward and backward; with ``--accumulate N`` gradients of N batches add up (each loss / N)
    and the optimizer steps on the group's last batch (``update``). ``options`` reach a ``train_step`` that
    takes them (label smoothing, MixUp/CutMix)."""
    kwargs = {"options": options} if options is not None else {}
    with torch.autocast(run.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
        losses = run.task.train_step(run.model, batch, **kwargs)
    loss = losses["loss"]
    if first:
        optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss / cfg.accumulate if cfg.accumulate > 1 else loss).backward()
    if update:
        _update(run, optimizer, scaler, cfg)
    return {k: float(v.detach()) for k, v in losses.items()}


def _update(run: Run, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, cfg: TrainConfig) -> None:
    if cfg.grad_clip:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(run.model.parameters(), cfg.grad_clip)
    scaler.step(optimizer)
    scaler.update()


def _check_finite(logs: dict[str, float], epoch: int, step: int) -> None:
    if not math.isfinite(logs["loss"]):
        raise CvkitError(
            f"loss became {logs['loss']} at epoch {epoch + 1}, step {step}; stopped, last.pt keeps the last good "
            "epoch (try a lower --lr or --grad-clip)"
        )


def _fit_in_one_pass(run: Run, skips: SkipCounter) -> bool:
    """k-NN, HOG+SVM and the like are fitted in one pass over the training set instead of by SGD."""
    sampler = EpochSampler(len(run.train_set), False, rank=run.dist.rank, world=run.dist.world)
    loader = make_loader(run.train_set, run.task.collate, run.cfg.batch_size, sampler, run.workers,
                         run.cfg.skip_bad)

    def batches():
        for batch, skipped in loader:
            skips.add(skipped)
            if batch is not None:
                yield batch.to(run.device)

    return run.task.fit(run.model, batches())


def _evaluate(run: Run, skips: SkipCounter, amp_dtype: torch.dtype | None = None) -> EvalResult:
    return evaluate_model(run.task, run.eval_module, run.val_set, run.device, run.cfg.batch_size, run.workers,
                          run.cfg.skip_bad, dist=run.dist, amp_dtype=amp_dtype, skips=skips)


def _end_epoch(run: Run, result: EvalResult, row: dict[str, Any], seconds: float, skips: SkipCounter,
               optimizer: Any = None, scheduler: Any = None, scaler: Any = None) -> None:
    ck = run.ckpt
    run.last_eval = result
    row.update({f"val_{k}": v for k, v in result.metrics.items()})
    row["time"] = seconds
    ck.history.append(row)
    value = result.metrics.get(result.primary)
    improved = value is not None and (
        ck.best is None or (value > ck.best["value"] if result.higher_is_better else value < ck.best["value"])
    )
    if improved:
        ck.best = {"metric": result.primary, "value": value, "epoch": ck.epoch}
    summary = epoch_summary(row, result.primary)
    if run.dist.is_main:
        info(f"epoch {ck.epoch}/{run.cfg.epochs}  {summary}  ({seconds:.1f} s)")
    last = _save(run, optimizer, scheduler, scaler, "last.pt")
    if improved and run.dist.is_main:  # the same checkpoint: linked, not serialised a second time
        atomic_copy(last, run.out / "best.pt")
    if run.dist.is_main:
        rundir.write_metrics(run.out, ck.history)


def _save(run: Run, optimizer: Any, scheduler: Any, scaler: Any, name: str) -> Path:
    path = run.out / name
    if run.dist.is_main:
        ck = run.ckpt
        ck.state_dict = _cpu(run.eval_module)
        ck.ema = run.ema.state(_cpu(run.module)) if run.ema is not None else None
        ck.optimizer = optimizer.state_dict() if optimizer is not None else None
        ck.scheduler = scheduler.state_dict() if scheduler is not None else None
        ck.scaler = scaler.state_dict() if scaler is not None and scaler.is_enabled() else None
        ck.rng = capture_rng()
        ck.versions = versions()
        save_checkpoint(ck, path)
    run.dist.barrier()
    return path


def _cpu(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def _amp_dtype(cfg: TrainConfig, device: torch.device) -> torch.dtype | None:
    if not cfg.amp:
        return None
    if device.type != "cuda":
        warn("--amp has no effect on CPU; training in float32")
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
