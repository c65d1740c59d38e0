"""Self-describing checkpoints, loadable with ``torch.load(weights_only=True)``.

A checkpoint is a plain dict of tensors and JSON-like values: no pickled classes, so loading never runs code.
``format`` marks it as ours; ``task``, ``model`` and ``dataset`` are enough to rebuild the model and its
input pipeline; the optimizer, scheduler, RNG states and loop position make training resumable.
"""

from __future__ import annotations

import pickle
import platform
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

import cvkit
from cvkit.errors import CvkitError
from cvkit.io.atomic import torch_save
from cvkit.task import DatasetInfo, ModelConfig, Task

FORMAT = "cvkit-checkpoint"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    task: str
    model: ModelConfig
    info: DatasetInfo
    state_dict: dict[str, torch.Tensor]
    config: dict[str, Any] = field(default_factory=dict)
    epoch: int = 0  # epochs completed
    step: int = 0  # optimizer steps taken in total
    epoch_step: int = 0  # batches already consumed in the current (incomplete) epoch
    best: dict[str, Any] | None = None  # {"metric": name, "value": float, "epoch": int}
    optimizer: dict[str, Any] | None = None
    scheduler: dict[str, Any] | None = None
    scaler: dict[str, Any] | None = None
    rng: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # metrics.csv rows so far
    partial: dict[str, Any] | None = None  # running sums of an incomplete epoch (mid-epoch resume)
    ema: dict[str, Any] | None = None  # --ema: {"updates", "decay", "raw": the live weights}; state_dict is the EMA
    versions: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "task": self.task,
            "model": self.model.to_dict(),
            "dataset": self.info.to_dict(),
            "state_dict": self.state_dict,
            "config": self.config,
            "epoch": self.epoch,
            "step": self.step,
            "epoch_step": self.epoch_step,
            "best": self.best,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "scaler": self.scaler,
            "rng": self.rng,
            "history": self.history,
            "partial": self.partial,
            "ema": self.ema,
            "versions": self.versions or versions(),
        }


def versions() -> dict[str, str]:
    import torchvision

    v = {"cvkit": cvkit.__version__, "torch": str(torch.__version__),
         "torchvision": str(torchvision.__version__), "python": platform.python_version()}
    if torch.version.cuda:
        v["cuda"] = str(torch.version.cuda)
    return v


def plain(obj: Any) -> Any:
    """Reduce to what ``weights_only`` loading accepts: builtins, tensors, and containers of them."""
    if isinstance(obj, torch.Tensor) or obj is None or type(obj) in (bool, int, float, str):
        return obj
    if isinstance(obj, dict):
        return {plain(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain(v) for v in obj) if type(obj) in (list, tuple) else [plain(v) for v in obj]
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, bool):
        return bool(obj)
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    return str(obj)


def save_checkpoint(ckpt: Checkpoint, path: str | Path) -> None:
    """Write atomically: an interrupted save leaves the previous file intact."""
    torch_save(plain(ckpt.to_dict()), path)


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load a cvkit checkpoint safely (``weights_only=True``); refuse anything else with a one-line error."""
    path = Path(path)
    if not path.exists():
        raise CvkitError(f"{path}: no such checkpoint file")
    if path.is_dir():
        raise CvkitError(f"{path}: is a directory; pass a checkpoint file such as {path / 'best.pt'}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CvkitError(
            f"{path}: refused to load: it is not a plain-data checkpoint and loading it could run code "
            f"({_unpickler_reason(str(exc))})"
        ) from None
    except Exception as exc:  # torch raises many types for garbage (KeyError, RuntimeError, EOFError...)
        raise CvkitError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {_first_line(exc)})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CvkitError(f"{path}: not a cvkit checkpoint (no '{FORMAT}' marker); train one with `cvkit train`")
    if int(raw.get("format_version", 0)) > FORMAT_VERSION:
        raise CvkitError(f"{path}: written by a newer cvkit (format {raw['format_version']}); upgrade cvkit")
    try:
        return Checkpoint(
            task=raw["task"],
            model=ModelConfig.from_dict(raw["model"]),
            info=DatasetInfo.from_dict(raw["dataset"]),
            state_dict=raw["state_dict"],
            config=raw.get("config") or {},
            epoch=int(raw.get("epoch", 0)),
            step=int(raw.get("step", 0)),
            epoch_step=int(raw.get("epoch_step", 0)),
            best=raw.get("best"),
            optimizer=raw.get("optimizer"),
            scheduler=raw.get("scheduler"),
            scaler=raw.get("scaler"),
            rng=raw.get("rng"),
            history=list(raw.get("history") or []),
            partial=raw.get("partial"),
            ema=raw.get("ema"),
            versions=dict(raw.get("versions") or {}),
            path=path,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CvkitError(f"{path}: damaged cvkit checkpoint (field {exc})") from None


def build_model(task: Task, ckpt: Checkpoint, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the checkpoint's model and load its weights (strictly: a mismatch names the checkpoint)."""
    config = ModelConfig.from_dict({**ckpt.model.to_dict(), "pretrained": False})
    model = task.build_model(config, ckpt.info)
    try:
        model.load_state_dict(ckpt.state_dict)
    except RuntimeError as exc:
        raise CvkitError(f"{ckpt.path}: weights do not fit model {ckpt.model.name!r}: {_first_line(exc)}") from None
    return model.to(device).eval()


def load_model(path: str | Path, device: str | torch.device = "cpu", task: str | None = None
               ) -> tuple[Task, nn.Module, Checkpoint]:
    """Load a checkpoint and build its model in eval mode. ``task`` (if given) must match the checkpoint's."""
    from cvkit.plugin import get_task

    try:
        ckpt = load_checkpoint(path)
    except CvkitError:
        # weights saved by another toolkit that the named task reads (e.g. official Segment Anything files)
        reader = getattr(get_task(task), "foreign_checkpoint", None) if task is not None else None
        foreign = reader(Path(path)) if reader is not None and Path(path).is_file() else None
        if foreign is None:
            raise
        ckpt = foreign
    if task is not None and task != ckpt.task:
        raise CvkitError(f"{path}: is a {ckpt.task!r} checkpoint, not {task!r}")
    t = get_task(ckpt.task)
    return t, build_model(t, ckpt, device), ckpt


def _unpickler_reason(text: str) -> str:
    """The one informative sentence of torch's weights-only refusal (what it would have had to import)."""
    after = text.split("WeightsUnpickler error:", 1)[-1].strip()
    first = after.splitlines()[0] if after else "unsafe pickle"
    return first.split(" was not an allowed global")[0].split(". ")[0][:160]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
