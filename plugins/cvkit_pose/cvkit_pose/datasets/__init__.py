"""Dataset formats (one module per on-disk format) and the embedded dataset of the pose plugin.

Loaders parse annotations only (``RawSplit``: image paths and per-image raw targets, see
:mod:`cvkit_pose.target`); decoding, cropping and heatmaps belong to :mod:`cvkit_pose.data`.
"""

from __future__ import annotations

from cvkit.contract import BuiltinDataset, DatasetFormat

from .coco import CocoFormat
from .mpii import MpiiFormat
from .stickmen import StickmenBuiltin

FORMATS: dict[str, DatasetFormat] = {"mpii": MpiiFormat(), "coco": CocoFormat()}
BUILTINS: dict[str, BuiltinDataset] = {"stickmen": StickmenBuiltin()}

__all__ = ["BUILTINS", "FORMATS", "CocoFormat", "MpiiFormat", "StickmenBuiltin"]
