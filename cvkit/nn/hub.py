"""Pretrained torchvision weights, only from the local torch hub cache (nothing is downloaded at run time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.errors import CvkitError


def cached_weights(weights: Any) -> Any:
    """``weights`` (a torchvision ``Weights`` entry) when its file is in the torch hub cache; else a CvkitError
    saying which file to place where."""
    import torch

    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not path.is_file():
        raise CvkitError(f"--pretrained needs {path.name} in {path.parent} (download {weights.url} there)")
    return weights
