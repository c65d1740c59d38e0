"""Clip sampling: which frames of a video make each clip, in training (one random clip) and evaluation (K uniform).

A clip is ``frames`` frames taken every ``stride`` frames. Models that see optical flow need one more frame per
clip (flow ``j`` goes from frame ``j`` to the next sampled frame). Videos shorter than a clip repeat their last
frame. Options come from ``--model-arg`` (``frames``, ``stride``, ``clips``, ``flow``) and are stored in the
checkpoint with the model.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from cvkit.errors import UsageError
from cvkit_video.flow import METHODS

ORDERS = ("natural", "shuffled", "reversed")


@dataclass(frozen=True)
class ClipSpec:
    frames: int = 8
    stride: int = 1
    clips: int = 5
    rgb: bool = True
    flow: bool = False
    flow_method: str = "farneback"

    @classmethod
    def from_args(cls, args: dict[str, Any], rgb: bool, flow: bool) -> ClipSpec:
        spec = cls(int(args.get("frames", 8)), int(args.get("stride", 1)), int(args.get("clips", 5)), rgb, flow,
                   str(args.get("flow", "farneback")))
        if spec.frames < 1 or spec.stride < 1 or spec.clips < 1:
            raise UsageError("--model-arg frames, stride and clips must be positive integers")
        if spec.flow_method not in METHODS:
            raise UsageError(f"--model-arg flow={spec.flow_method}: expected one of {', '.join(METHODS)}")
        return spec

    @property
    def length(self) -> int:
        """Frames decoded per clip (one more than ``frames`` for flow)."""
        return self.frames + int(self.flow)

    @property
    def span(self) -> int:
        """Frames of the video one clip covers."""
        return (self.length - 1) * self.stride + 1

    def indices(self, start: int, n: int) -> list[int]:
        return [min(start + j * self.stride, n - 1) for j in range(self.length)]

    def train_start(self, n: int) -> int:
        """A uniformly random start (the core seeds Python's RNG per sample)."""
        return random.randint(0, max(0, n - self.span))

    def eval_starts(self, n: int) -> list[int]:
        """``clips`` starts spread evenly from the first to the last possible one (repeats for short videos)."""
        last = max(0, n - self.span)
        return [int(s) for s in np.linspace(0, last, self.clips).round()]


def reorder(positions: list[int], order: str, rng: np.random.Generator | None = None) -> list[int]:
    """The frame-order controls: ``shuffled`` permutes the frames of a clip, ``reversed`` plays them backwards."""
    if order == "natural":
        return positions
    if order == "reversed":
        return positions[::-1]
    if order == "shuffled":
        perm = (rng or np.random).permutation(len(positions))
        return [positions[p] for p in perm]
    raise UsageError(f"unknown frame order {order!r}: expected one of {', '.join(ORDERS)}")
