"""Embedded datasets, written by the core's generators (:mod:`cvkit.vision.digits`, :mod:`cvkit.vision.shapes`):
the same files every task reads, in their real on-disk formats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.errors import UsageError
from cvkit.task import BuiltinDataset

METHOD_NAMES = ("relpos", "colorize", "rotation", "simclr", "autoencoder", "supervised")


def _check(builtin: BuiltinDataset, fmt: str) -> None:
    if fmt not in builtin.formats:
        raise UsageError(f"builtin:{builtin.name} is written as {', '.join(builtin.formats)}, not {fmt!r}")


class DigitsBuiltin(BuiltinDataset):
    """scikit-learn's 1,797 real 8x8 handwritten digits as an ImageFolder train/val tree (labels: the digit)."""

    name = "digits"
    formats = ("imagefolder",)
    description = "1,797 real 8x8 handwritten digits (scikit-learn), ImageFolder train/val; pretrained at 32 px"

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        from cvkit.vision.digits import write_digits

        _check(self, fmt)
        return f"imagefolder:{write_digits(Path(out), size, seed)}"

    def card(self) -> dict[str, Any]:
        """32 px and, for every method, the small ``sample-cnn-gap`` encoder (32 filters per conv; ``--model-arg
        encoder=resnet18`` overrides it): 8 x 8 digits need no ResNet-18, which costs ~2x the time per image
        here. SimCLR's views of centred grey digits:
        milder crops, small rotations, no flips (a mirrored digit is another symbol), pixel noise instead of
        colour changes; its budget (batch, repeats, learning rate) fits ~3 minutes on one CPU core."""
        encoder = {"encoder": "sample-cnn-gap"}  # its default width, 32 filters
        simclr = {**encoder, "crop_min": 0.6, "rotate": 20, "flip": False, "gray": 0.0, "noise": 0.1,
                  "repeat": 16}
        models: dict[str, Any] = {m: {"img_size": 32, "model_args": dict(encoder)} for m in METHOD_NAMES}
        models["simclr"] = {"img_size": 32, "epochs": 1, "batch_size": 256, "lr": 2e-3, "warmup_epochs": 0.1,
                            "model_args": simclr}
        return {"defaults": {"img_size": 32, "model_args": dict(encoder)}, "models": models}


class ShapesBuiltin(BuiltinDataset):
    """Procedural scenes of circles, squares and triangles as COCO instances (label: the largest object's class)."""

    name = "shapes"
    version = 2  # 2: COCO polygons traced along the pixels' edges (they rasterise back to the exact masks)
    formats = ("coco",)
    description = "128 px scenes of 1-4 circles, squares and triangles (COCO), 2,000 train / 200 val; 64 px"

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        from cvkit.vision.shapes import write_shapes

        _check(self, fmt)
        return f"coco:{write_shapes(Path(out), 2000 if size is None else size, seed)}"

    def card(self) -> dict[str, Any]:
        """64 px, the small encoder for every method (as on digits)."""
        encoder = {"encoder": "sample-cnn-gap"}  # its default width, 32 filters
        models = {m: {"img_size": 64, "model_args": dict(encoder)} for m in METHOD_NAMES}
        return {"defaults": {"img_size": 64, "model_args": dict(encoder)}, "models": models}
