"""The video-classification task's scoring side, without torch: formats, embedded data, metric and record parsing.

``cvkit eval video --data SPEC --predictions FILE`` loads this class (``TaskSpec.scoring``) instead of the task,
so scoring a predictions file never imports torch; :class:`cvkit_video.task.VideoTask` inherits it.
"""

from __future__ import annotations

from typing import Any

from cvkit.contract import BuiltinDataset, DatasetFormat, DatasetInfo, Scoring
from cvkit_video import records
from cvkit_video.datasets import BUILTINS, FORMATS
from cvkit_video.metric import VideoEvaluator


class VideoScoring(Scoring):
    def formats(self) -> dict[str, DatasetFormat]:
        return FORMATS

    def builtins(self) -> dict[str, BuiltinDataset]:
        return BUILTINS

    def evaluator(self, info: DatasetInfo, metric: str | None = None) -> VideoEvaluator:
        return VideoEvaluator(info.classes)

    def parse_record(self, record: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
        return records.from_record(record)
