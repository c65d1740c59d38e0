"""Loss-side training options a task may support: label smoothing, and MixUp / CutMix of a batch of images.

A task declares the ones it supports in its ``train_options`` class attribute (names as in
:data:`OPTIONS`); the core refuses the others with a usage error naming the task. A ``train_step`` that takes an
``options`` keyword receives a :class:`TrainOptions` for each batch: it reads ``label_smoothing`` and calls
``mix(images, labels)``, which returns the mixed images and soft targets (probabilities) drawn by
torchvision's ``transforms.v2.MixUp`` / ``CutMix``. The random draws come from the CPU generator re-seeded from
(run seed, epoch, batch position, rank) and restored afterwards: the same batch is mixed the same way in a
resumed run, and the rest of the run's random stream is untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from cvkit.errors import UsageError

OPTIONS = {"label_smoothing": "--label-smoothing", "mixup": "--mixup", "cutmix": "--cutmix"}


@dataclass(frozen=True)
class TrainOptions:
    """Per-batch training options handed to ``Task.train_step(model, batch, options=...)``."""

    label_smoothing: float = 0.0
    mixup: float = 0.0  # Beta(alpha, alpha) for MixUp's mixing weight; 0: off
    cutmix: float = 0.0  # Beta(alpha, alpha) for CutMix's box area; 0: off
    seed: int = 0  # the draw's seed (derived from run seed, epoch, batch position and rank)
    num_classes: int = 0  # classes of the training set (the soft targets' width)

    @property
    def mixing(self) -> bool:
        return self.mixup > 0 or self.cutmix > 0

    def mix(self, images: torch.Tensor, labels: torch.Tensor, num_classes: int | None = None
            ) -> tuple[torch.Tensor, torch.Tensor]:
        """MixUp or CutMix (one of them, with equal chance, when both are on) of a batch ``(N, C, H, W)`` with
        class-index ``labels``: the mixed images and ``(N, num_classes)`` target probabilities (``num_classes``
        defaults to the training set's). Without mixing, the inputs unchanged."""
        if not self.mixing:
            return images, labels
        num_classes = num_classes or self.num_classes
        from torchvision.transforms import v2

        kinds = []
        if self.mixup > 0:
            kinds.append(v2.MixUp(alpha=self.mixup, num_classes=num_classes))
        if self.cutmix > 0:
            kinds.append(v2.CutMix(alpha=self.cutmix, num_classes=num_classes))
        transform = kinds[0] if len(kinds) == 1 else v2.RandomChoice(kinds)
        generator = torch.random.default_generator
        saved = generator.get_state()
        try:
            generator.manual_seed(self.seed % 2**63)
            mixed, soft = transform(images, labels)
        finally:
            generator.set_state(saved)
        return mixed, soft


def batch_seed(seed: int, epoch: int, position: int, rank: int) -> int:
    """The seed of one batch's draws: distinct per run seed, epoch, batch position and rank."""
    return ((seed * 1_000_003 + epoch) * 1_000_033 + position) * 4099 + rank + 0x5EED


def supported(task: Any) -> frozenset[str]:
    """The options of :data:`OPTIONS` that ``task`` declares in ``train_options``."""
    return frozenset(getattr(task, "train_options", ()))


def check_options(task: Any, values: dict[str, float]) -> None:
    """Refuse an option the task does not support, or a value out of range, with a one-line usage error."""
    allowed = supported(task)
    for name, value in values.items():
        flag = OPTIONS[name]
        if value < 0 or (name == "label_smoothing" and value >= 1):
            bound = "in [0, 1)" if name == "label_smoothing" else "0 (off) or positive"
            raise UsageError(f"{flag} {value}: expected a value {bound}")
        if value and name not in allowed:
            others = ", ".join(sorted(OPTIONS[n] for n in allowed)) or "none of them"
            raise UsageError(f"{flag}: task {task.name!r} does not support it (it supports {others})")


__all__ = ["OPTIONS", "TrainOptions", "batch_seed", "check_options", "supported"]
