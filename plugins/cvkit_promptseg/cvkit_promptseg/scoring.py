"""The promptable-segmentation task's scoring side, without torch: formats, embedded data, metric and record
parsing.

``cvkit eval promptseg --data SPEC --predictions FILE`` loads this class (``TaskSpec.scoring``) instead of the
task, so scoring a file of simulated-click records never imports torch; :class:`cvkit_promptseg.task.PromptSegTask`
inherits it.
"""

from __future__ import annotations

from typing import Any

from cvkit.contract import BuiltinDataset, DatasetFormat, DatasetInfo, Evaluator, Scoring
from cvkit_promptseg import records
from cvkit_promptseg.datasets.coco import CocoPromptFormat
from cvkit_promptseg.datasets.shapes import ShapesPromptDataset
from cvkit_promptseg.datasets.voc import VocPromptFormat
from cvkit_promptseg.metric import PromptSegEvaluator


class PromptSegScoring(Scoring):
    def formats(self) -> dict[str, DatasetFormat]:
        return {"coco": CocoPromptFormat(), "voc": VocPromptFormat()}

    def builtins(self) -> dict[str, BuiltinDataset]:
        return {"shapes": ShapesPromptDataset()}

    def evaluator(self, info: DatasetInfo, metric: str | None = None) -> Evaluator:
        return PromptSegEvaluator(info)

    def parse_record(self, record: dict[str, Any], info: DatasetInfo) -> Any:
        return records.parse_record(record)
