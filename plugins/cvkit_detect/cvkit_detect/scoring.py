"""The detection task's scoring side, without torch: formats, embedded data, metric and record parsing.

``cvkit eval detect --data SPEC --predictions FILE`` loads this class (``TaskSpec.scoring``) instead of the task,
so scoring a predictions file never imports torch; :class:`cvkit_detect.task.DetectTask` inherits it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cvkit.contract import BuiltinDataset, DatasetFormat, DatasetInfo, Evaluator, Scoring
from cvkit_detect import records
from cvkit_detect.datasets.coco import CocoFormat
from cvkit_detect.datasets.shapes import ShapesDataset
from cvkit_detect.datasets.voc import VocFormat
from cvkit_detect.metrics.evaluator import METRICS, DetectionEvaluator


class DetectScoring(Scoring):
    def formats(self) -> dict[str, DatasetFormat]:
        return {"voc": VocFormat(), "coco": CocoFormat()}

    def builtins(self) -> dict[str, BuiltinDataset]:
        return {"shapes": ShapesDataset()}

    def evaluator(self, info: DatasetInfo, metric: str | None = None) -> Evaluator:
        return DetectionEvaluator(info, metric)

    def metric_names(self) -> list[str]:
        return list(METRICS)

    def parse_record(self, record: dict[str, Any], info: DatasetInfo) -> Any:
        return records.parse_record(record, info)

    def read_predictions_file(self, path: Path, info: DatasetInfo) -> Iterator[tuple[str, Any]] | None:
        return records.read_coco_results(path, info)
