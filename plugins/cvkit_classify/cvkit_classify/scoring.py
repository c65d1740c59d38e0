"""The classification task's scoring side, without torch: formats, embedded data, metric and record parsing.

``cvkit eval classify --data SPEC --predictions FILE`` loads this class (``TaskSpec.scoring``) instead of the task,
so scoring a predictions file never imports torch; :class:`cvkit_classify.task.ClassifyTask` inherits it.
"""

from __future__ import annotations

from typing import Any

from cvkit.contract import BuiltinDataset, DatasetFormat, DatasetInfo, Scoring
from cvkit_classify.datasets import BUILTINS, FORMATS
from cvkit_classify.metric import ClassifyEvaluator


class ClassifyScoring(Scoring):
    def formats(self) -> dict[str, DatasetFormat]:
        return FORMATS

    def builtins(self) -> dict[str, BuiltinDataset]:
        return BUILTINS

    def evaluator(self, info: DatasetInfo, metric: str | None = None) -> ClassifyEvaluator:
        return ClassifyEvaluator(info.classes)

    def parse_record(self, record: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
        return {"topk": [(int(t["index"]), float(t["score"])) for t in record.get("topk", [])]}
