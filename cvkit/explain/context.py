"""What every explain kind receives: the model, how its inputs are normalised, the inputs and the options."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cvkit.errors import UsageError

# A split loader: given a split name ("train", "val"), yields (normalised image batch (B, C, H, W), labels (B,)).
SplitLoader = Callable[[str], Iterable[tuple[torch.Tensor, torch.Tensor]]]


@dataclass
class ExplainContext:
    """Everything a visualisation kind needs; built by ``cvkit visualize`` from a checkpoint (or by hand).

    ``model`` is a classification ``nn.Module`` returning logits ``(B, C)``, already in eval mode on ``device``.
    ``inputs`` are ``(source path as given, normalised CHW float tensor ready for the model)``. ``mean``/``std``
    undo the normalisation for display (one value per channel, or one value for all). ``load_split`` serves
    ``tsne`` and ``neighbors`` (and supplies query images when ``inputs`` is empty). ``layer`` is a dotted
    ``named_modules()`` name or None for the kind's default. ``options`` holds the per-kind settings listed in
    ``cvkit.explain``; a value of None means "use the default".
    """

    model: nn.Module
    out: Path
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    task_name: str = "classify"
    classes: list[str] = field(default_factory=list)
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    img_size: int = 32
    inputs: list[tuple[str, torch.Tensor]] = field(default_factory=list)
    load_split: SplitLoader | None = None
    layer: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ options
    def opt(self, key: str, default: Any) -> Any:
        """``options[key]`` converted to the type of ``default``, or ``default`` when unset (None)."""
        value = self.options.get(key)
        if value is None:
            return default
        if default is None or isinstance(default, str):
            return value
        if isinstance(default, bool) and isinstance(value, str):
            if value.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise UsageError(f"option {key}={value!r}: expected true or false")
            return value.lower() in ("1", "true", "yes", "on")
        try:
            return type(default)(value)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"option {key}={value!r}: expected a {type(default).__name__}") from exc

    def seed(self) -> int:
        return int(self.opt("seed", 0))

    # ------------------------------------------------------------------ classes
    def class_name(self, index: int) -> str:
        return self.classes[index] if 0 <= index < len(self.classes) else str(index)

    def class_index(self, value: int | str, num_classes: int | None = None) -> int:
        """Resolve ``--target`` given as a class name or an index."""
        n = num_classes if num_classes is not None else len(self.classes)
        if isinstance(value, str) and value in self.classes:
            return self.classes.index(value)
        try:
            index = int(value)
        except (TypeError, ValueError):
            known = ", ".join(self.classes[:20]) + (" ..." if len(self.classes) > 20 else "")
            raise UsageError(f"--target {value!r} is not a class name or index (classes: {known})") from None
        if n and not 0 <= index < n:
            raise UsageError(f"--target {index} is out of range: the model has {n} classes")
        return index

    def target(self, num_classes: int | None = None) -> int | None:
        """The ``target`` option as a class index, or None when not given."""
        value = self.options.get("target")
        return None if value is None else self.class_index(value, num_classes)

    # ------------------------------------------------------------- normalisation
    def _stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (-1, 1, 1) if x.dim() == 3 else (1, -1, 1, 1)
        mean = torch.as_tensor(self.mean, dtype=x.dtype, device=x.device).view(shape)
        std = torch.as_tensor(self.std, dtype=x.dtype, device=x.device).view(shape)
        return mean, std

    def to_raw(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised (C, H, W) or (B, C, H, W) -> pixel values in [0, 1] (not clipped)."""
        mean, std = self._stats(x)
        return x * std + mean

    def from_raw(self, raw: torch.Tensor) -> torch.Tensor:
        """Pixel values in [0, 1] -> normalised model input."""
        mean, std = self._stats(raw)
        return (raw - mean) / std

    def to_image(self, x: torch.Tensor, stretch: bool = False) -> np.ndarray:
        """A normalised CHW tensor as an RGB uint8 HWC array (grey replicated to 3 channels).

        ``stretch`` rescales the 1st-99th percentile to full range (synthesised images drift out of [0, 1])."""
        raw = self.to_raw(x.detach().float().cpu())
        arr = raw.numpy().transpose(1, 2, 0)
        if stretch:
            lo, hi = np.percentile(arr, 1), np.percentile(arr, 99)
            arr = (arr - lo) / max(hi - lo, 1e-8)
        arr = np.clip(arr, 0.0, 1.0)
        if arr.shape[2] == 1:
            arr = np.repeat(arr, 3, axis=2)
        elif arr.shape[2] != 3:
            arr = np.repeat(arr.mean(axis=2, keepdims=True), 3, axis=2)
        return (arr * 255.0 + 0.5).astype(np.uint8)

    # -------------------------------------------------------------------- inputs
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of a model input: the first SOURCE's, else channels of the first Conv2d (or of the
        normalisation) at ``img_size``."""
        if self.inputs:
            return tuple(self.inputs[0][1].shape)
        conv = next((m for m in self.model.modules() if isinstance(m, nn.Conv2d)), None)
        channels = conv.in_channels if conv is not None else (len(self.mean) if len(self.mean) > 1 else 3)
        return (channels, self.img_size, self.img_size)

    def query_inputs(self, kind: str) -> list[tuple[str, torch.Tensor]]:
        """The SOURCE images, or when none were given the first ``count`` images of the ``query_split`` split."""
        if self.inputs:
            return self.inputs
        count = int(self.opt("count", 4))
        split = str(self.opt("query_split", "val"))
        if self.load_split is None:
            raise UsageError(f"visualize {kind} needs at least one SOURCE image")
        found: list[tuple[str, torch.Tensor]] = []
        for images, _labels in self.load_split(split):
            for image in images:
                found.append((f"{split}[{len(found)}]", image))
                if len(found) >= count:
                    return found
        if not found:
            raise UsageError(f"visualize {kind}: split {split!r} is empty and no SOURCE image was given")
        return found
