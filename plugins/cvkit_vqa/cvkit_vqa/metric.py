"""The VQA evaluator: the official accuracy (:mod:`cvkit_vqa.accuracy`) overall, per question type
(``type_<question_type>``) and per answer type (``answer_<answer_type>``), names made of ``[a-z0-9_]``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from cvkit.contract import Evaluator
from cvkit.errors import UsageError
from cvkit_vqa.accuracy import VERSIONS, vqa_accuracy


def metric_name(prefix: str, name: str) -> str:
    return prefix + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


class VqaEvaluator(Evaluator):
    primary = "accuracy"

    def __init__(self, version: str | None = None) -> None:
        self.version = version or "official"
        if self.version not in VERSIONS:
            raise UsageError(f"--metric {self.version}: choose from {', '.join(VERSIONS)}")
        self.rows: dict[int, tuple[str, list[dict[str, Any]], str, str]] = {}

    def update(self, indices: Sequence[int], predictions: Sequence[Any], targets: Sequence[Any]) -> None:
        for i, pred, t in zip(indices, predictions, targets, strict=True):
            self.rows[int(i)] = (str(pred.get("answer", "")), list(t["answers"]), t["question_type"],
                                 t["answer_type"])

    def state(self) -> Any:
        return self.rows

    def merge(self, states: Iterable[Any]) -> None:
        self.rows = {}
        for s in states:
            self.rows.update(s)

    def compute(self) -> dict[str, float]:
        acc = vqa_accuracy((self.rows[k] for k in sorted(self.rows)), self.version)
        out = {"accuracy": acc["overall"]}
        out.update({metric_name("type_", k): v for k, v in sorted(acc["per_question_type"].items())})
        out.update({metric_name("answer_", k): v for k, v in sorted(acc["per_answer_type"].items())})
        return out
