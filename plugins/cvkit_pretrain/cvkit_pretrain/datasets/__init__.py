"""Dataset formats (one module per on-disk format) and embedded datasets of the pretraining plugin.

Pretraining needs only images; labels, where the data has them, are read for the linear-probe and k-NN
evaluation: the class folder of an ImageFolder tree, and for COCO the class of each image's largest object.
An image without a label gets -1 (it is used for pretraining and left out of the probes).
"""

from __future__ import annotations

from cvkit.task import BuiltinDataset, DatasetFormat

from .builtins import DigitsBuiltin, ShapesBuiltin
from .coco import CocoFormat
from .folder import ImageFolderFormat

FORMATS: dict[str, DatasetFormat] = {"imagefolder": ImageFolderFormat(), "coco": CocoFormat()}
BUILTINS: dict[str, BuiltinDataset] = {"digits": DigitsBuiltin(), "shapes": ShapesBuiltin()}

__all__ = ["BUILTINS", "FORMATS", "CocoFormat", "DigitsBuiltin", "ImageFolderFormat", "ShapesBuiltin"]
