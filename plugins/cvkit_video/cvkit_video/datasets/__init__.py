"""Dataset formats (one module per on-disk format) and the embedded dataset of the video plugin.

Loaders parse annotations only (``RawSplit``: video paths and label lists); decoding, clip sampling and
transforms belong to the task's dataset class (``cvkit_video.data``).
"""

from __future__ import annotations

from cvkit.contract import BuiltinDataset, DatasetFormat

from .motion import MotionBuiltin
from .sports1m import Sports1MFormat
from .videolist import VideoListFormat

FORMATS: dict[str, DatasetFormat] = {"sports1m": Sports1MFormat(), "videolist": VideoListFormat()}
BUILTINS: dict[str, BuiltinDataset] = {"motion": MotionBuiltin()}

__all__ = ["BUILTINS", "FORMATS", "MotionBuiltin", "Sports1MFormat", "VideoListFormat"]
