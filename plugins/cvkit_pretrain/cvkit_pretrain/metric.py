"""The evaluator: frozen features of the ``fit`` and ``score`` images (see ``data.py``), of the trained encoder and
of a randomly initialised one of the same architecture, probed with :mod:`cvkit_pretrain.probe`; plus the pretext
loss on the scored images. Without labels only ``pretext_loss`` is reported (and is then the primary metric)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cvkit.task import SampleEvaluator
from cvkit_pretrain.probe import cached_probe_metrics, probe_metrics


class ProbeEvaluator(SampleEvaluator):
    primary = "knn_top1"

    def __init__(self, labelled: bool = True) -> None:
        super().__init__()
        if not labelled:
            self.primary, self.higher_is_better = "pretext_loss", False

    def prepare(self, prediction: Any, target: Any) -> tuple[Any, Any]:
        rand = prediction.get("random_features")
        kept = {"features": np.asarray(prediction["features"], np.float32),
                "random_features": None if rand is None else np.asarray(rand, np.float32),
                "pretext_loss": prediction.get("pretext_loss")}
        return kept, (str(target["part"]), int(target["label"]))

    def compute(self) -> dict[str, float]:
        _, preds, targets = self.sorted_items()
        out: dict[str, float] = {}
        losses = [p["pretext_loss"] for p, t in zip(preds, targets, strict=True)
                  if t[0] == "score" and p["pretext_loss"] is not None]
        if losses:
            out["pretext_loss"] = float(np.mean(losses))
        fit = [i for i, t in enumerate(targets) if t[0] == "fit" and t[1] >= 0]
        score = [i for i, t in enumerate(targets) if t[0] == "score" and t[1] >= 0]
        if not fit or not score:
            return out

        def arrays(rows: list[int], key: str) -> np.ndarray:
            return np.stack([preds[i][key] for i in rows])

        fy = np.array([targets[i][1] for i in fit])
        sy = np.array([targets[i][1] for i in score])
        out.update(probe_metrics(arrays(fit, "features"), fy, arrays(score, "features"), sy))
        if all(preds[i]["random_features"] is not None for i in fit + score):
            out.update(cached_probe_metrics(arrays(fit, "random_features"), fy, arrays(score, "random_features"), sy,
                                            prefix="random_"))
        out["num_fit"], out["num_scored"] = float(len(fit)), float(len(score))
        return out
