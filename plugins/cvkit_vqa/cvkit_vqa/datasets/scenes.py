"""``builtin:scenes``: the core's synthetic scenes with their questions, written in the VQA v2 layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import BuiltinDataset
from cvkit.errors import UsageError
from cvkit.vision.scenes import write_vqa


class ScenesBuiltin(BuiltinDataset):
    name = "scenes"
    formats = ("vqa2",)
    description = ("64 px scenes of 1-3 coloured shapes, ~4 questions each (color, shape, count, relation, exist); "
                   "SIZE train images (default 3000), SIZE/6 val")

    def card(self) -> dict[str, Any]:
        return {"defaults": {"img_size": 64}}

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        if fmt not in self.formats:
            raise UsageError(f"builtin:scenes is written by the vqa task as {', '.join(self.formats)} "
                             f"(caption writes it as coco), not {fmt!r}")
        return f"vqa2:{write_vqa(Path(out), size, seed)}"
