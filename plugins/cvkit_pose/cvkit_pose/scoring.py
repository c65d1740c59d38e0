"""The pose task's scoring side, without torch: formats, embedded data, metric and record parsing.

``cvkit eval pose --data SPEC --predictions FILE`` loads this class (``TaskSpec.scoring``) instead of the task,
so scoring a predictions file never imports torch; :class:`cvkit_pose.task.PoseTask` inherits it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import BuiltinDataset, DatasetFormat, DatasetInfo, Evaluator, Scoring
from cvkit_pose import records
from cvkit_pose.datasets import BUILTINS, FORMATS
from cvkit_pose.metrics.evaluator import METRICS, PoseEvaluator


class PoseScoring(Scoring):
    def formats(self) -> dict[str, DatasetFormat]:
        return FORMATS

    def builtins(self) -> dict[str, BuiltinDataset]:
        return BUILTINS

    def evaluator(self, info: DatasetInfo, metric: str | None = None) -> Evaluator:
        return PoseEvaluator(info, metric)

    def metric_names(self) -> list[str]:
        return list(METRICS)

    def parse_record(self, record: dict[str, Any], info: DatasetInfo) -> Any:
        return records.parse_record(record, info)

    def read_predictions_file(self, path: Path, info: DatasetInfo) -> Any:
        return records.read_coco_results(path, info)
