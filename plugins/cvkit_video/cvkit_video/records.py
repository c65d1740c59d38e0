"""Predictions of one video: internal form, JSONL record and back.

Prediction: ``{"topk": [(index, score)], "scores": [score per class], "clips": [{"start": frame,
"topk": [(index, score)]}]}``. Video scores are the mean of the clips' softmax probabilities; every score is
rounded to 6 decimals here, so that a record read back gives the very prediction it was written from.

Record: ``{"topk": [{"label", "index", "score"}], "scores": [...], "clips": [{"start", "topk": [...]}]}``.
``--conf F`` drops top-k entries scoring below F from the records (the scores list stays complete).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # annotations only: reading records back (eval --predictions) needs no torch
    import torch

TOPK = 5


def rounded(x: torch.Tensor) -> np.ndarray:
    return np.round(x.detach().double().cpu().numpy(), 6)


def topk(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k best classes, ties broken by the lower class index."""
    order = np.argsort(-scores, kind="stable")[:k]
    return [(int(c), float(scores[c])) for c in order]


def predictions(probs: torch.Tensor, metas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-video predictions from clip probabilities ``(B, K, classes)``."""
    k = min(TOPK, probs.shape[-1])
    clip_scores = rounded(probs)
    video_scores = rounded(probs.double().mean(1))
    out = []
    for b, meta in enumerate(metas):
        starts = meta.get("starts") or [None] * probs.shape[1]
        clips = [{"start": None if s is None else int(s), "topk": topk(clip_scores[b, j], k)}
                 for j, s in enumerate(starts)]
        out.append({"topk": topk(video_scores[b], k), "scores": video_scores[b].tolist(), "clips": clips})
    return out


def _entries(pairs: list[tuple[int, float]], classes: list[str], conf: float | None) -> list[dict[str, Any]]:
    return [{"label": classes[i], "index": i, "score": s} for i, s in pairs if conf is None or s >= conf]


def to_record(pred: dict[str, Any], classes: list[str], conf: float | None = None) -> dict[str, Any]:
    return {
        "topk": _entries(pred["topk"], classes, conf),
        "scores": pred["scores"],
        "clips": [{"start": c["start"], "topk": _entries(c["topk"], classes, conf)} for c in pred["clips"]],
    }


def from_record(record: dict[str, Any]) -> dict[str, Any]:
    def pairs(entries: list[dict[str, Any]]) -> list[tuple[int, float]]:
        return [(int(e["index"]), float(e["score"])) for e in entries]

    scores = record.get("scores")
    return {
        "topk": pairs(record.get("topk", [])),
        "scores": [float(s) for s in scores] if scores is not None else None,
        "clips": [{"start": c.get("start"), "topk": pairs(c.get("topk", []))} for c in record.get("clips", [])],
    }
