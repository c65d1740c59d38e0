"""Classification without torch, for exported ONNX models (``cvkit.runtime``): the evaluation transform in
numpy/Pillow and the top-k record. This module must not import torch: it runs where only onnxruntime is
installed. ``ClassifyTask.record`` writes its records through :func:`topk_record` too, so both paths agree."""

from __future__ import annotations

from typing import Any

import numpy as np

TOPK = 5


def topk_record(indices: list[int], scores: list[float], classes: list[str]) -> dict[str, Any]:
    """The task fields of a classification record."""
    return {"topk": [{"label": classes[i], "index": int(i), "score": round(float(s), 6)}
                     for i, s in zip(indices, scores, strict=True)]}


def preprocess(image: np.ndarray, model: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    """The classify evaluation transform: resize (shorter side to size / 0.875, then a centre crop, from 128 px
    up; a plain square resize below) with antialiased bilinear filtering, scale to [0, 1], normalise."""
    from PIL import Image

    s = int(model["img_size"])
    h, w = image.shape[:2]
    pil = Image.fromarray(image)
    if s >= 128:
        short = round(s / 0.875)
        nh, nw = (short, int(short * w / h)) if h <= w else (int(short * h / w), short)
        pil = pil.resize((nw, nh), Image.BILINEAR)
        top, left = int(round((nh - s) / 2.0)), int(round((nw - s) / 2.0))
        pil = pil.crop((left, top, left + s, top + s))
    else:
        pil = pil.resize((s, s), Image.BILINEAR)
    x = np.asarray(pil, dtype=np.float32) / 255.0
    mean = np.asarray(model["mean"], dtype=np.float32)
    std = np.asarray(model["std"], dtype=np.float32)
    return ((x - mean) / std).transpose(2, 0, 1), {"orig_size": (h, w)}


def postprocess(outputs: list[np.ndarray], metas: list[dict[str, Any]], info: dict[str, Any],
                conf: float | None) -> list[dict[str, Any]]:
    logits = outputs[0].astype(np.float32)
    z = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(z)
    probs /= probs.sum(axis=1, keepdims=True)
    k = min(TOPK, probs.shape[1])
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    classes = info["classes"]
    return [topk_record(row.tolist(), probs[n, row].tolist(), classes) for n, row in enumerate(order)]


def csv_rows(record: dict[str, Any], info: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"source": record["source"], "rank": r + 1, **t} for r, t in enumerate(record.get("topk", []))]
