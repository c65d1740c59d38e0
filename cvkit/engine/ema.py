"""``--ema``: an exponential moving average of the weights, the model that validation and the checkpoints use.

After each optimizer step every floating-point tensor of the state dict (parameters and buffers such as
BatchNorm's running statistics) moves towards the live model's: ``ema = d * ema + (1 - d) * live``. The decay
ramps up from 0 as ``d = decay * (1 - exp(-updates / RAMP))`` (the Ultralytics schedule), so that in a short run
the average is not dominated by the random initialisation; integer buffers (BatchNorm's ``num_batches_tracked``)
are copied. The arithmetic is the same in a resumed run, so resuming stays bit-exact.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import nn

DEFAULT_DECAY = 0.9998  # timm's train.py default (--model-ema-decay)
RAMP = 2000.0  # optimizer steps for the decay to reach ~63% of its target (Ultralytics' tau)


class ModelEMA:
    """A frozen copy of ``model`` in eval mode, averaged after each optimizer step (``update``)."""

    def __init__(self, model: nn.Module, decay: float = DEFAULT_DECAY, updates: int = 0) -> None:
        self.module = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay, self.updates = decay, updates

    def current_decay(self) -> float:
        """The decay applied by the next update (after ``updates`` steps so far)."""
        return self.decay * (1.0 - math.exp(-(self.updates + 1) / RAMP))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.current_decay()
        self.updates += 1
        live = model.state_dict()
        for name, ema in self.module.state_dict().items():
            src = live[name].detach()
            if ema.dtype.is_floating_point:
                ema.lerp_(src.to(ema.dtype), 1.0 - d)
            else:
                ema.copy_(src)

    def state(self, raw: dict[str, torch.Tensor]) -> dict[str, Any]:
        """What a checkpoint keeps besides the averaged weights: the update count, the decay, and the live
        (optimised) weights ``raw`` from which training continues."""
        return {"updates": self.updates, "decay": self.decay, "raw": raw}


__all__ = ["DEFAULT_DECAY", "RAMP", "ModelEMA"]
