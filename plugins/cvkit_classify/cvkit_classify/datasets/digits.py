"""``builtin:digits``: scikit-learn's 1,797 real 8x8 handwritten digits, written as an ImageFolder tree.

The images ship with scikit-learn (no download). They are split into train and val (20 %), stratified by digit and
deterministic for a seed, and written as 8-bit grayscale PNGs ``out/{train,val}/<digit>/<index:04d>.png`` where
``index`` is the sample's position in ``sklearn.datasets.load_digits()`` (so a file name identifies the sample
whatever the seed) and pixel values 0..16 become round(v * 255 / 16).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import BuiltinDataset
from cvkit.errors import UsageError
from cvkit.vision.digits import VAL_FRACTION, split_indices, to_uint8, write_digits

__all__ = ["VAL_FRACTION", "DigitsBuiltin", "split_indices", "to_uint8"]


class DigitsBuiltin(BuiltinDataset):
    """scikit-learn's real handwritten digits (10 classes, 8x8 grayscale), as ImageFolder train/ and val/."""

    name = "digits"
    formats = ("imagefolder",)
    description = "1,797 real 8x8 handwritten digits from scikit-learn, 10 classes, 80/20 stratified split"

    def card(self) -> dict[str, Any]:
        """8x8 grey images of centred digits: upsampled to 16x16, never flipped."""
        return {"defaults": {"img_size": 16, "model_args": {"augment": "none"}}}

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        if fmt not in self.formats:
            raise UsageError(f"builtin:{self.name} is written as {', '.join(self.formats)}, not {fmt!r}")
        return f"imagefolder:{write_digits(out, size, seed)}"
