"""Resolving a training configuration: task defaults, resume merging, weight initialisation."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from torch import nn

from cvkit.checkpoint import Checkpoint, load_checkpoint
from cvkit.console import info, warn
from cvkit.engine.config import TrainConfig
from cvkit.errors import CvkitError, UsageError
from cvkit.task import Task

# Options whose change on --resume is expected, or harmless, and so is not listed.
_QUIET_ON_RESUME = {"resume", "epochs", "workers", "device", "out", "exist_ok"}


def apply_task_defaults(cfg: TrainConfig, task: Task) -> None:
    """Fill options the user left unset: first the settings the dataset's card recommends (for this model), then
    the task's defaults for the model, then the task's own."""
    cfg.data = cfg.data or task.spec.default_data
    cfg.model = cfg.model or task.default_model
    from cvkit.plugin import check_model_name

    check_model_name(task, cfg.model)  # a typo fails here, with the closest names, before any data is read
    from cvkit.data import card_defaults, read_card, resolve

    _, path = resolve(task, cfg.data)
    for source in (card_defaults(read_card(path), cfg.model), task.defaults_for(cfg.data, cfg.model)):
        for key, value in source.items():
            if key == "model_args":
                cfg.model_args = {**value, **cfg.model_args}
            elif not hasattr(cfg, key):
                raise CvkitError(f"{cfg.data}: the dataset card names an unknown option {key!r}")
            elif getattr(cfg, key) is None:
                setattr(cfg, key, value)
    defaults = {
        "model": task.default_model,
        "epochs": task.default_epochs,
        "batch_size": task.default_batch_size,
        "lr": task.default_lr,
        "optimizer": task.default_optimizer,
        "weight_decay": task.default_weight_decay,
        "schedule": task.default_schedule,
        "warmup_epochs": task.default_warmup_epochs,
        "img_size": task.default_img_size,
        "data": task.spec.default_data,
    }
    for key, value in defaults.items():
        if getattr(cfg, key) is None:
            setattr(cfg, key, value)
    if cfg.epochs < 1 or cfg.batch_size < 1 or cfg.img_size < 1:
        raise CvkitError("--epochs, --batch-size and --img-size must be positive")


def check_train_options(cfg: TrainConfig, task: Task) -> None:
    """Values the option parser cannot check alone (a config file bypasses it)."""
    if not 0.0 < cfg.ema_decay < 1.0:
        raise UsageError(f"--ema-decay {cfg.ema_decay}: expected a value between 0 and 1 (e.g. 0.9998)")
    if cfg.save_every < 0 or cfg.accumulate < 1 or cfg.patience < 0:
        raise UsageError("--save-every and --patience must be 0 or positive, --accumulate positive")
    if isinstance(cfg.pretrained, str) and cfg.weights and not cfg.resume:
        raise UsageError("--weights and --pretrained PATH both give the starting weights: use one of them")
    if isinstance(cfg.pretrained, str) and not cfg.pretrained:
        raise UsageError("--pretrained: expected a weights file after it, or nothing (the torch hub cache)")


def merge_resume_config(cfg: TrainConfig, ckpt: Checkpoint, explicit: set[str]) -> TrainConfig:
    """The checkpoint's configuration, with the options given explicitly on this command line on top.

    Differences are listed before training continues."""
    saved = dict(ckpt.config)
    merged: dict[str, Any] = {}
    changed = []
    for f in fields(TrainConfig):
        old = saved.get(f.name, getattr(cfg, f.name))
        new = getattr(cfg, f.name)
        if f.name in explicit and new != old:
            merged[f.name] = new
            if f.name not in _QUIET_ON_RESUME:
                changed.append(f"{f.name}: {old!r} -> {new!r}")
        else:
            merged[f.name] = old
    merged["resume"] = cfg.resume
    if changed:
        warn("resuming with options that differ from the checkpoint's: " + "; ".join(changed))
    out = TrainConfig(**merged)
    info(f"resuming {ckpt.path} at epoch {ckpt.epoch + 1}, step {ckpt.epoch_step} of that epoch "
         f"(training to epoch {out.epochs})")
    return out


def init_weights_from(model: nn.Module, path: str) -> None:
    """Fine-tuning start: copy every tensor whose name and shape match (a new head keeps its fresh weights)."""
    ckpt = load_checkpoint(path)
    own = model.state_dict()
    # A pretrained encoder (cvkit train pretrain) is stored as "backbone.<the classifier's own names>".
    trunk = {k.removeprefix("backbone."): v for k, v in ckpt.state_dict.items() if k.startswith("backbone.")}
    loaded = max(({k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
                  for state in (ckpt.state_dict, trunk)), key=len)
    if not loaded:
        raise CvkitError(f"{path}: no weight of {ckpt.model.name!r} fits this model")
    model.load_state_dict(loaded, strict=False)
    skipped = len(own) - len(loaded)
    info(f"initialised {len(loaded)} tensors from {path}" + (f" ({skipped} left as built)" if skipped else ""))


__all__ = ["apply_task_defaults", "check_train_options", "merge_resume_config", "init_weights_from"]
