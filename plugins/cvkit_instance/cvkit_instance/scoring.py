"""The instance-segmentation task's scoring side, without torch: formats, embedded data, metric and record parsing.

``cvkit eval instance --data SPEC --predictions FILE`` loads this class (``TaskSpec.scoring``) instead of the task,
so scoring a predictions file never imports torch; :class:`cvkit_instance.task.InstanceTask` inherits it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cvkit.contract import BuiltinDataset, DatasetFormat, DatasetInfo, Evaluator, Scoring
from cvkit_instance import records
from cvkit_instance.datasets.coco import CocoInstanceFormat
from cvkit_instance.datasets.shapes import ShapesInstanceDataset
from cvkit_instance.datasets.voc import VocInstanceFormat
from cvkit_instance.metrics.evaluator import METRICS, InstanceEvaluator


class InstanceScoring(Scoring):
    def formats(self) -> dict[str, DatasetFormat]:
        return {"coco": CocoInstanceFormat(), "voc": VocInstanceFormat()}

    def builtins(self) -> dict[str, BuiltinDataset]:
        return {"shapes": ShapesInstanceDataset()}

    def evaluator(self, info: DatasetInfo, metric: str | None = None) -> Evaluator:
        return InstanceEvaluator(info, metric)

    def metric_names(self) -> list[str]:
        return list(METRICS)

    def parse_record(self, record: dict[str, Any], info: DatasetInfo) -> Any:
        return records.parse_record(record, info)

    def read_predictions_file(self, path: Path, info: DatasetInfo) -> Iterator[tuple[str, Any]] | None:
        return records.read_coco_results(path, info)
