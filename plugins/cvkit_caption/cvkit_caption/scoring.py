"""The captioning task's scoring side, without torch: formats, embedded data, metric and record parsing.

``cvkit eval caption --data SPEC --predictions FILE`` loads this class (``TaskSpec.scoring``) instead of the task,
so scoring a predictions file never imports torch; :class:`cvkit_caption.task.CaptionTask` inherits it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cvkit.contract import BuiltinDataset, DatasetFormat, DatasetInfo, Evaluator, Scoring
from cvkit_caption import records
from cvkit_caption.datasets import BUILTINS, FORMATS
from cvkit_caption.metrics.evaluator import CaptionEvaluator


class CaptionScoring(Scoring):
    def formats(self) -> dict[str, DatasetFormat]:
        return FORMATS

    def builtins(self) -> dict[str, BuiltinDataset]:
        return BUILTINS

    def evaluator(self, info: DatasetInfo, metric: str | None = None) -> Evaluator:
        return CaptionEvaluator(info)

    def parse_record(self, record: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
        return records.parse_record(record)

    def read_predictions_file(self, path: Path, info: DatasetInfo) -> Iterator[tuple[str, Any]] | None:
        return records.read_results(path, info)
