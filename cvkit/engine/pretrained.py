"""``--pretrained PATH``: start from a state-dict file downloaded elsewhere (torchvision's or timm's files).

The file is read safely (``torch.load(weights_only=True)``, or safetensors when that package is installed); a
training checkpoint wrapping the weights (``{"state_dict": ...}``, ``{"model": ...}``, a DDP ``module.`` prefix,
a cvkit checkpoint) is unwrapped. Tensors are matched by name and shape, allowing for one name prefix on either
side (torchvision's ResNet weights load into a detector's ``backbone.body.``); tensors whose shape differs (a
classifier head for 1,000 classes) keep their freshly built values. One line reports what loaded.
"""

from __future__ import annotations

import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cvkit.errors import CvkitError

WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "module", "net")


@dataclass
class LoadReport:
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # model tensors the file has nothing for
    unexpected: list[str] = field(default_factory=list)  # file tensors the model has no place for
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    total: int = 0  # tensors of the model

    def line(self, path: str | Path) -> str:
        parts = [f"--pretrained {path}: loaded {len(self.loaded)} of the model's {self.total} tensors"]
        if self.mismatched:
            parts.append("shape differs (kept as built): " + _names(
                [f"{k} {list(file)} vs {list(own)}" for k, file, own in self.mismatched]))
        if self.missing:
            parts.append("not in the file: " + _names(self.missing))
        if self.unexpected:
            parts.append("unused from the file: " + _names(self.unexpected))
        return "; ".join(parts)


def _names(items: list[str], most: int = 3) -> str:
    shown = ", ".join(items[:most])
    return shown + (f" (+{len(items) - most} more)" if len(items) > most else "")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a state-dict file, unwrapped; a one-line CvkitError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise CvkitError(f"{path}: no such weights file" + (" (it is a directory)" if path.is_dir() else ""))
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise CvkitError(f"{path}: reading .safetensors files needs the safetensors package "
                             "(pip install safetensors), or save the weights with torch.save") from None
        try:
            raw: Any = load_file(str(path))
        except Exception as exc:  # noqa: BLE001  safetensors raises its own types for damaged files
            raise CvkitError(f"{path}: not a readable safetensors file ({_first_line(exc)})") from None
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                raw = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            if "global" not in str(exc).lower():  # damaged, not a pickle ("Unsupported operand"): no code named
                raise CvkitError(f"{path}: not a readable weights file ({_first_line(exc)})") from None
            raise CvkitError(f"{path}: refused: not a plain state dict (loading it would run code); save "
                             "model.state_dict() with torch.save") from None
        except Exception as exc:  # noqa: BLE001  torch raises many types for garbage
            raise CvkitError(f"{path}: not a readable weights file ({type(exc).__name__}: {_first_line(exc)})"
                             ) from None
    state = _unwrap(raw)
    if state is None:
        raise CvkitError(f"{path}: holds no state dict (expected a mapping of tensor names to tensors)")
    if state and all(k.startswith("module.") for k in state):  # saved from DistributedDataParallel
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def _unwrap(raw: Any) -> dict[str, torch.Tensor] | None:
    if not isinstance(raw, dict) or not raw:
        return None
    tensors = {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
    if tensors and len(tensors) == len(raw):
        return tensors
    for key in WRAPPER_KEYS:
        inner = _unwrap(raw.get(key))
        if inner:
            return inner
    return None


def match(own: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor],
                                                                              LoadReport]:
    """The file's tensors renamed to the model's names (the alignment that loads the most), and the report."""
    best: tuple[dict[str, torch.Tensor], LoadReport] | None = None
    for strip, add in _alignments(own, state):
        renamed = {add + k.removeprefix(strip): v for k, v in state.items() if k.startswith(strip)}
        report = LoadReport(total=len(own))
        fits = {}
        for name, value in renamed.items():
            if name not in own:
                report.unexpected.append(name)
            elif tuple(own[name].shape) != tuple(value.shape):
                report.mismatched.append((name, tuple(value.shape), tuple(own[name].shape)))
            else:
                fits[name] = value
                report.loaded.append(name)
        report.unexpected += [k for k in state if not k.startswith(strip)]
        shapes = {n for n, _, _ in report.mismatched}
        report.missing = [k for k in own if k not in fits and k not in shapes]
        if best is None or len(fits) > len(best[0]):
            best = (fits, report)
    assert best is not None
    return best


def _alignments(own: dict[str, Any], state: dict[str, Any]) -> list[tuple[str, str]]:
    """Candidate (prefix to strip from the file's names, prefix to add): none, and the ones that make a sample
    of the file's names land on the model's."""
    found = {("", "")}
    for key in list(state)[:50]:
        for name in own:
            if name != key and name.endswith("." + key):
                found.add(("", name[: -len(key)]))
            elif name != key and key.endswith("." + name):
                found.add((key[: -len(name)], ""))
    return sorted(found)


def load_pretrained(model: nn.Module, path: str | Path) -> LoadReport:
    """Load the matching tensors of ``path`` into ``model``; a CvkitError when none fits."""
    state = read_state_dict(path)
    fits, report = match(model.state_dict(), state)
    if not fits:
        sample = ", ".join(list(state)[:3])
        raise CvkitError(f"{path}: no tensor fits the model (the file has e.g. {sample}; see "
                         "`cvkit count-params --per-layer` for the model's names)")
    model.load_state_dict(fits, strict=False)
    return report


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


__all__ = ["LoadReport", "load_pretrained", "match", "read_state_dict"]
