"""Prediction records (JSONL), COCO caption results ``[{"image_id", "caption"}]`` and reading them back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cvkit.contract import DatasetInfo
from cvkit.errors import BadInput


def record(pred: dict[str, Any]) -> dict[str, Any]:
    return {"caption": pred["caption"], "tokens": list(pred["tokens"]), "score": round(float(pred["score"]), 6)}


def parse_record(rec: dict[str, Any]) -> dict[str, Any]:
    """The prediction of a record; ``{}`` is the empty caption."""
    caption = rec.get("caption", "")
    if not isinstance(caption, str):
        raise ValueError("'caption' is not a string")
    return {"caption": caption}


def coco_results(pred: dict[str, Any], image_id: Any) -> list[dict[str, Any]]:
    return [{"image_id": image_id, "caption": pred["caption"]}]


def read_results(path: Path, info: DatasetInfo) -> Iterator[tuple[str, dict[str, Any]]] | None:
    """A COCO caption results list as ``(file name, prediction)``; None when ``path`` is not a JSON list."""
    with open(path, "rb") as fh:
        head = fh.read(64).lstrip()
    if not head.startswith(b"["):
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(path, f"malformed JSON: {exc}") from None
    names = {v: k for k, v in (info.extra.get("image_ids") or {}).items()}
    out = []
    for j, r in enumerate(data):
        if not isinstance(r, dict) or "image_id" not in r or not isinstance(r.get("caption"), str):
            raise BadInput(path, "expected {\"image_id\", \"caption\"}", where=f"[{j}]")
        out.append((str(names.get(r["image_id"], r["image_id"])), {"caption": r["caption"]}))
    return iter(out)
