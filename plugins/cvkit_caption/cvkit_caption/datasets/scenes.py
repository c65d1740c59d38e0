"""``builtin:scenes``: the core's synthetic scenes written as COCO captions (5 references per image)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import BuiltinDataset
from cvkit.errors import UsageError
from cvkit.vision.scenes import write_captions


class ScenesBuiltin(BuiltinDataset):
    name = "scenes"
    formats = ("coco",)
    description = "64 px scenes of 1-3 coloured shapes, 5 captions each; SIZE train images (default 3000), SIZE/6 val"

    def card(self) -> dict[str, Any]:
        """The attention LSTM's recipe for these scenes (5 minutes on one CPU core): 5 epochs of 20 images per
        step, each image with 2 of its 5 references (chosen anew each step: the references say the same thing in
        other words, and the LSTM's share of a step falls to 2/5)."""
        return {"defaults": {"img_size": 64},
                "models": {"attention-lstm": {"img_size": 64, "epochs": 5, "batch_size": 20,
                                              "model_args": {"captions_per_image": 2}}}}

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        if fmt not in self.formats:
            raise UsageError(f"builtin:scenes is written by the caption task as {', '.join(self.formats)} "
                             f"(vqa writes it as vqa2), not {fmt!r}")
        return f"coco:{write_captions(Path(out), size, seed)}"
