"""Dataset formats (one module per on-disk format) and the embedded scenes of the captioning task.

Loaders parse annotations only: a ``RawSplit`` whose sources are image paths and whose targets are the lists of
reference captions. ``info.extra`` carries ``word_counts`` (tokenised words of the split's captions, from which
the model builds its vocabulary), ``image_ids`` (file name -> image id, for COCO results files) and ``scenes``
(True for the embedded scenes: per-slot accuracies are reported).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from cvkit.contract import BuiltinDataset, DatasetFormat
from cvkit.text import tokenize

from .coco import CocoCaptionsFormat
from .karpathy import KarpathyFormat
from .scenes import ScenesBuiltin

FORMATS: dict[str, DatasetFormat] = {"coco": CocoCaptionsFormat(), "karpathy": KarpathyFormat()}
BUILTINS: dict[str, BuiltinDataset] = {"scenes": ScenesBuiltin()}


def caption_extra(captions: list[list[str]], image_ids: dict[str, Any], scenes: bool) -> dict[str, Any]:
    """The ``info.extra`` every caption loader fills."""
    counts = Counter(t for refs in captions for c in refs for t in tokenize(c))
    return {"word_counts": dict(sorted(counts.items())), "image_ids": image_ids, "scenes": scenes}


__all__ = ["BUILTINS", "FORMATS", "caption_extra"]
