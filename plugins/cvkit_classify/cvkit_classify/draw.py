"""Captions of classification results on RGB uint8 images: predictions, ground truth, and the validation picture
that titles a wrong prediction in red."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cvkit.contract import ValidationPicture
from cvkit.vision.draw import caption


def prediction_lines(prediction: dict[str, Any], names: Sequence[str], n: int = 3) -> list[str]:
    return [f"{names[i]} {s:.2f}" for i, s in prediction["topk"][:n]]


def compare(image: np.ndarray, prediction: dict[str, Any], target: int, names: Sequence[str]) -> ValidationPicture:
    """The true class over the image beside the top predictions; wrong (red title) when the top-1 is not it."""
    top = prediction["topk"][0][0] if prediction["topk"] else None
    wrong = top is None or int(top) != int(target)
    note = f"true {names[int(target)]}" + (f", predicted {names[int(top)]}" if wrong and top is not None else "")
    return ValidationPicture(caption(image, [f"true: {names[int(target)]}"]),
                             caption(image, prediction_lines(prediction, names), alert=wrong), wrong, note)
