"""The resolved training configuration: every option, after defaults, config file and CLI are merged."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from cvkit.errors import CvkitError, UsageError


@dataclass
class TrainConfig:
    task: str
    data: str | None = None
    model: str | None = None
    model_args: dict[str, Any] = field(default_factory=dict)
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    optimizer: str | None = None
    weight_decay: float | None = None
    momentum: float = 0.9
    schedule: str | None = None
    warmup_epochs: float | None = None
    grad_clip: float | None = 10.0
    patience: int = 0  # stop after this many epochs without a better primary metric (0: never)
    accumulate: int = 1  # batches whose gradients add up before each optimizer step
    ema: bool = False  # validate and save an exponential moving average of the weights
    ema_decay: float = 0.9998
    label_smoothing: float = 0.0
    mixup: float = 0.0  # MixUp's Beta alpha (0: off)
    cutmix: float = 0.0  # CutMix's Beta alpha (0: off)
    save_every: int = 0  # also write last.pt every N optimizer steps (0: at the end of each epoch only)
    img_size: int | None = None
    weights: str | None = None
    pretrained: bool | str = False  # True: torchvision weights from the hub cache; a path: a state-dict file
    resume: str | None = None
    device: str = "auto"
    freeze_backbone: bool = False
    devices: int = 1
    workers: int | str = 0  # loader processes, or "auto" (resolved per machine by ``workers_for``)
    seed: int = 0
    deterministic: bool = False
    amp: bool = False
    skip_bad: bool = False
    out: str | None = None
    exist_ok: bool = False
    train_split: str = "train"
    val_split: str = "val"
    images: str | None = None
    videos: str | None = None

    def __post_init__(self) -> None:
        self.workers = parse_workers(self.workers)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def data_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"skip_bad": self.skip_bad}
        if self.images:
            opts["images"] = self.images
        if self.videos:
            opts["videos"] = self.videos
        return opts


def parse_workers(value: Any) -> int | str:
    """``--workers``: a count of loader processes (0: load in the training process) or ``auto``."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"--workers {value!r}: expected a number of worker processes or auto") from None
    if count < 0 or isinstance(value, float) and value != count:
        raise UsageError(f"--workers {value!r}: expected a number of worker processes or auto")
    return count


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Options from a YAML file (keys as in config.yaml of a run, dashes or underscores)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise CvkitError(f"{path}: no such config file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise CvkitError(f"{path}{where}: not valid YAML") from None
    if not isinstance(data, dict):
        raise CvkitError(f"{path}: expected a mapping of option: value")
    known = {f.name for f in fields(TrainConfig)}
    out = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in known:
            raise UsageError(f"{path}: unknown option {key!r}")
        out[name] = value
    return out


def parse_model_args(items: list[str]) -> dict[str, Any]:
    """``--model-arg key=value`` pairs; values are YAML scalars or lists (``hidden=[256,128]``)."""
    args: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--model-arg {item!r}: expected KEY=VALUE")
        try:
            args[key.replace("-", "_")] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise UsageError(f"--model-arg {item!r}: cannot parse the value") from None
    return args
