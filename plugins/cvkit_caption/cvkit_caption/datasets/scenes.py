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
        return {"defaults": {"img_size": 64}}

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        if fmt not in self.formats:
            raise UsageError(f"builtin:scenes is written by the caption task as {', '.join(self.formats)} "
                             f"(vqa writes it as vqa2), not {fmt!r}")
        return f"coco:{write_captions(Path(out), size, seed)}"
