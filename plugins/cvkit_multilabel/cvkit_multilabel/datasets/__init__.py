"""Dataset formats (one module per on-disk format) and embedded datasets of the multi-label plugin.

Every loader returns a ``RawSplit`` whose targets are lists of one value per class: 1 (present), -1 (absent) or 0
(difficult: only difficult objects of the class, ignored by the loss and the metrics), the VOC classification
convention.
"""

from __future__ import annotations

from cvkit.contract import BuiltinDataset, DatasetFormat

from .coco import CocoLabelsFormat
from .csvlist import CsvListFormat
from .shapes import ShapesBuiltin
from .voc import VocClassificationFormat

FORMATS: dict[str, DatasetFormat] = {"voc": VocClassificationFormat(), "coco": CocoLabelsFormat(),
                                     "csv": CsvListFormat()}
BUILTINS: dict[str, BuiltinDataset] = {"shapes": ShapesBuiltin()}

__all__ = ["BUILTINS", "FORMATS"]
