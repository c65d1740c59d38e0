"""Dataset formats (one module per on-disk format) and embedded datasets of the classification plugin.

Loaders parse annotations only (``RawSplit``: image paths and class indices); decoding and transforms belong to
the task's dataset class.
"""

from __future__ import annotations

from cvkit.contract import BuiltinDataset, DatasetFormat

from .digits import DigitsBuiltin
from .imagefolder import ImageFolderFormat
from .imagenet import ImageNetFormat

# Detection order matters: an ImageNet tree is also a valid ImageFolder, so "imagenet" is tried first.
FORMATS: dict[str, DatasetFormat] = {"imagenet": ImageNetFormat(), "imagefolder": ImageFolderFormat()}
BUILTINS: dict[str, BuiltinDataset] = {"digits": DigitsBuiltin()}

__all__ = ["BUILTINS", "FORMATS", "DigitsBuiltin", "ImageFolderFormat", "ImageNetFormat"]
