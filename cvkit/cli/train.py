"""``cvkit train``: options are parsed here; the loop lives in cvkit.engine.train."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from cvkit.cli.app import app
from cvkit.cli.task_help import TaskDefaultsHelp

TASK_DEFAULT = "task default"


@app.command("train", cls=TaskDefaultsHelp)
def train_cmd(
    ctx: typer.Context,
    task: str = typer.Argument(None, help="Task to train (read from the checkpoint with --resume).",
                               show_default=False),
    data: str = typer.Option(None, help="Dataset: PATH, FORMAT:PATH or builtin:NAME.", show_default=TASK_DEFAULT),
    model: str = typer.Option(None, help="Model name (see `cvkit models TASK`).", show_default=TASK_DEFAULT),
    model_arg: list[str] = typer.Option([], "--model-arg", help="Model builder argument KEY=VALUE (repeatable; "
                                        "values in YAML, e.g. hidden=[256,128]).", show_default=False),
    epochs: int = typer.Option(None, min=1, help="Epochs to train (to, when resuming).", show_default=TASK_DEFAULT),
    batch_size: int = typer.Option(None, min=1, help="Images per step per process.", show_default=TASK_DEFAULT),
    lr: float = typer.Option(None, help="Peak learning rate.", show_default=TASK_DEFAULT),
    optimizer: Literal["sgd", "adamw"] = typer.Option(None,
                                  help="sgd (Nesterov momentum 0.9) or adamw.", show_default=TASK_DEFAULT),
    weight_decay: float = typer.Option(None, help="Weight decay (not applied to biases and norms).",
                                       show_default=TASK_DEFAULT),
    schedule: Literal["cosine", "step", "constant"] = typer.Option(None,
                                 help="LR schedule after warm-up (step: x0.1 at 50% and 75%).",
                                 show_default=TASK_DEFAULT),
    warmup_epochs: float = typer.Option(None, help="Linear warm-up length in epochs.", show_default=TASK_DEFAULT),
    img_size: int = typer.Option(None, min=1, help="Input size in pixels.", show_default=TASK_DEFAULT),
    accumulate: int = typer.Option(1, min=1, help="Gradient accumulation: add up the gradients of N batches "
                                   "before each optimizer step (effective batch N x --batch-size)."),
    patience: int = typer.Option(0, min=0, help="Stop early after this many epochs without a better primary "
                                 "validation metric (0: never; a resumed run keeps counting)."),
    weights: Path = typer.Option(None, help="Initialise from a cvkit checkpoint (fine-tuning; matching tensors).",
                                 show_default=False),
    pretrained: bool = typer.Option(False, help="Start from torchvision weights found in the local torch hub "
                                    "cache (never downloaded)."),
    resume: Path = typer.Option(None, help="Continue an interrupted or finished run from its last.pt.",
                                show_default=False),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    freeze_backbone: bool = typer.Option(False, help="Train only the head (linear probe)."),
    devices: int = typer.Option(1, min=1, help="Processes for distributed data-parallel training on this machine "
                                "(one per GPU; gloo on CPU)."),
    workers: int = typer.Option(0, min=0, help="DataLoader worker processes."),
    seed: int = typer.Option(0, help="Random seed (sampling, augmentation, initialisation)."),
    deterministic: bool = typer.Option(False, help="Enforce deterministic CUDA algorithms (CPU runs already are)."),
    amp: bool = typer.Option(False, help="Mixed precision on CUDA (bf16 where supported, else fp16)."),
    skip_bad: bool = typer.Option(False, help="Skip unreadable images/annotations, counting them, instead of "
                                  "stopping."),
    out: Path = typer.Option(None, help="Run folder.", show_default="runs/TASK/trainN"),
    exist_ok: bool = typer.Option(False, "--exist-ok", help="Write into an existing, non-empty --out folder "
                                  "(otherwise refused, so that no run is overwritten silently)."),
    config: Path = typer.Option(None, help="YAML file of options (CLI options override it).", show_default=False),
    images: Path = typer.Option(None, help="Image folder for a COCO annotation file given as --data.",
                                show_default=False),
    videos: Path = typer.Option(None, help="Video folder for Sports-1M style datasets.", show_default=False),
) -> None:
    """Train a model; writes config.yaml, metrics.csv, last.pt, best.pt, curves and summary.json."""
    from cvkit.engine.config import TrainConfig, parse_model_args, read_config_file
    from cvkit.errors import UsageError

    explicit = {name for name in ctx.params if ctx.get_parameter_source(name).name == "COMMANDLINE"}
    values = {k: (str(v) if isinstance(v, Path) else v) for k, v in ctx.params.items()}
    values.pop("config")
    values["model_args"] = parse_model_args(values.pop("model_arg"))
    if config:
        from_file = read_config_file(config)
        for key, value in from_file.items():
            if key not in explicit:
                values[key] = value
        explicit |= set(from_file)
    if "model_arg" in explicit:
        explicit.add("model_args")
    if not values.get("task") and not values.get("resume"):
        raise UsageError("missing TASK (or --resume CKPT); see `cvkit tasks`")
    if not values.get("task"):
        from cvkit.checkpoint import load_checkpoint

        values["task"] = load_checkpoint(values["resume"]).task
    cfg = TrainConfig(**values)
    if cfg.devices > 1:
        from cvkit.engine.launch import launch

        launch(cfg, explicit)
        return
    from cvkit.engine.train import train

    train(cfg, explicit)
