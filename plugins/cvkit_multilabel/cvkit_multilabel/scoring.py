"""The multi-label task's scoring side, without torch: formats, embedded data, metric and record parsing.

``cvkit eval multilabel --data SPEC --predictions FILE`` loads this class (``TaskSpec.scoring``) instead of the
task, so scoring a predictions file never imports torch; :class:`cvkit_multilabel.task.MultiLabelTask` inherits it
(its evaluator also stores tuned thresholds in the model being evaluated; a file has no model).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cvkit.contract import BuiltinDataset, DatasetFormat, DatasetInfo, Scoring
from cvkit_multilabel.datasets import BUILTINS, FORMATS
from cvkit_multilabel.metric import METRICS, MultiLabelEvaluator, default_metric


class MultiLabelScoring(Scoring):
    def formats(self) -> dict[str, DatasetFormat]:
        return FORMATS

    def builtins(self) -> dict[str, BuiltinDataset]:
        return BUILTINS

    def evaluator(self, info: DatasetInfo, metric: str | None = None) -> MultiLabelEvaluator:
        return MultiLabelEvaluator(info.classes, metric or default_metric(info.extra.get("year")))

    def metric_names(self) -> list[str]:
        return list(METRICS)

    def parse_record(self, record: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
        if "scores" not in record:
            return {"scores": None, "labels": []}
        given = record["scores"]
        if not isinstance(given, dict):
            raise TypeError("'scores' must map class names to numbers")
        unknown = [k for k in given if k not in info.classes]
        if unknown:
            raise KeyError(f"class {unknown[0]!r} of 'scores' is not a class of the dataset")
        scores = np.array([float(given[c]) if c in given else np.nan for c in info.classes])
        labels = [info.classes.index(t["label"]) if "label" in t else int(t["index"])
                  for t in record.get("labels", [])]
        return {"scores": scores, "labels": labels}
