"""The evaluator: frozen features of the ``fit`` and ``score`` images (see ``data.py``), of the trained encoder and
of a randomly initialised one of the same architecture, probed with :mod:`cvkit_pretrain.probe`; plus the pretext
loss on the scored images. Without labels only ``pretext_loss`` is reported (and is then the primary metric)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from cvkit.task import Evaluator
from cvkit_pretrain.probe import cached_probe_metrics, probe_metrics


class ProbeEvaluator(Evaluator):
    primary = "knn_top1"

    def __init__(self, labelled: bool = True) -> None:
        self.rows: dict[int, tuple[str, int, np.ndarray, np.ndarray | None, float | None]] = {}
        if not labelled:
            self.primary, self.higher_is_better = "pretext_loss", False

    def update(self, indices: Sequence[int], predictions: Sequence[Any], targets: Sequence[Any]) -> None:
        for i, pred, target in zip(indices, predictions, targets, strict=True):
            rand = pred.get("random_features")
            self.rows[int(i)] = (target["part"], int(target["label"]), np.asarray(pred["features"], np.float32),
                                 None if rand is None else np.asarray(rand, np.float32), pred.get("pretext_loss"))

    def state(self) -> Any:
        return self.rows

    def merge(self, states: Iterable[Any]) -> None:
        self.rows = {}
        for s in states:
            self.rows.update(s)

    def compute(self) -> dict[str, float]:
        keys = sorted(self.rows)
        out: dict[str, float] = {}
        losses = [self.rows[k][4] for k in keys if self.rows[k][0] == "score" and self.rows[k][4] is not None]
        if losses:
            out["pretext_loss"] = float(np.mean(losses))
        fit = [k for k in keys if self.rows[k][0] == "fit" and self.rows[k][1] >= 0]
        score = [k for k in keys if self.rows[k][0] == "score" and self.rows[k][1] >= 0]
        if not fit or not score:
            return out

        def arrays(ks: list[int], col: int) -> np.ndarray:
            return np.stack([self.rows[k][col] for k in ks])

        fy = np.array([self.rows[k][1] for k in fit])
        sy = np.array([self.rows[k][1] for k in score])
        out.update(probe_metrics(arrays(fit, 2), fy, arrays(score, 2), sy))
        if all(self.rows[k][3] is not None for k in fit + score):
            out.update(cached_probe_metrics(arrays(fit, 3), fy, arrays(score, 3), sy, prefix="random_"))
        out["num_fit"], out["num_scored"] = float(len(fit)), float(len(score))
        return out
