"""``cvkit train``: options are parsed here; the loop lives in cvkit.engine.train."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from cvkit.cli.app import app
from cvkit.cli.task_help import TaskDefaultsHelp

TASK_DEFAULT = "task default"
WEIGHT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors", ".tar", ".ckpt")


class TrainCommand(TaskDefaultsHelp):
    """``--pretrained`` takes an optional PATH: bare, it means the torch hub cache."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, pretrained_args(args))


def pretrained_args(args: list[str]) -> list[str]:
    """A bare ``--pretrained`` becomes ``--pretrained=`` (the hub cache); it takes the next argument as its PATH
    when that is a file or is named like a weights file."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return out + args[i:]
        if arg == "--pretrained":
            nxt = args[i + 1] if i + 1 < len(args) else None
            if nxt is not None and not nxt.startswith("-") and (nxt.endswith(WEIGHT_SUFFIXES) or Path(nxt).is_file()):
                out.append(f"--pretrained={nxt}")
                i += 2
                continue
            arg = "--pretrained="
        out.append(arg)
        i += 1
    return out


@app.command("train", cls=TrainCommand)
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
    ema: bool = typer.Option(False, "--ema", help="Keep an exponential moving average of the weights; "
                             "validation, best.pt, last.pt and the final model use it."),
    ema_decay: float = typer.Option(0.9998, min=0.0, max=1.0, help="EMA decay per optimizer step (ramped up "
                                    "from 0 over the first few thousand steps)."),
    label_smoothing: float = typer.Option(0.0, min=0.0, max=1.0, help="Label smoothing of the cross-entropy "
                                          "target (classification; 0: off)."),
    mixup: float = typer.Option(0.0, min=0.0, help="MixUp Beta(alpha, alpha) on training batches "
                                "(classification; 0: off; 0.2 is usual)."),
    cutmix: float = typer.Option(0.0, min=0.0, help="CutMix Beta(alpha, alpha) on training batches "
                                 "(classification; 0: off; 1.0 is usual; with --mixup, one of the two per batch)."),
    save_every: int = typer.Option(0, min=0, help="Also write last.pt every N optimizer steps, resumable "
                                   "mid-epoch (0: at the end of each epoch only)."),
    weights: Path = typer.Option(None, help="Initialise from a cvkit checkpoint (fine-tuning; matching tensors).",
                                 show_default=False),
    pretrained: str = typer.Option(None, metavar="[PATH]", show_default="off",
                                   help="Start from pretrained weights, never downloaded: alone, torchvision's "
                                   "from the local torch hub cache; with PATH, a torchvision- or timm-style state "
                                   "dict file (.pth/.pt/.bin) loaded by name and shape, with a report."),
    resume: Path = typer.Option(None, help="Continue an interrupted or finished run from its last.pt.",
                                show_default=False),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    freeze_backbone: bool = typer.Option(False, help="Train only the head (linear probe)."),
    devices: int = typer.Option(1, min=1, help="Processes for distributed data-parallel training on this machine "
                                "(one per GPU; gloo on CPU)."),
    workers: str = typer.Option("0", help="DataLoader worker processes, or auto: on CPU one core decodes and "
                                "augments in a worker while the others compute; on a GPU up to 8 workers."),
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
    values["pretrained"] = False if pretrained is None else (pretrained or True)  # "": the hub cache
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
