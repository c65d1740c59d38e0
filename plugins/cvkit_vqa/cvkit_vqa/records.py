"""Prediction records (JSONL), the official results file ``[{"question_id", "answer"}]``, and reading both back
for ``cvkit eval vqa --predictions`` (matched to the split's questions by ``question_id``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cvkit.contract import DatasetInfo
from cvkit.errors import BadInput
from cvkit_vqa.datasets.vqa2 import read_questions, sample_source


def record(pred: dict[str, Any]) -> dict[str, Any]:
    return {"question_id": pred.get("question_id"), "question": pred.get("question"), "answer": pred["answer"],
            "topk": [{"answer": a, "score": round(float(s), 6)} for a, s in pred.get("topk", [])]}


def parse_record(rec: dict[str, Any]) -> dict[str, Any]:
    answer = rec.get("answer", "")
    if not isinstance(answer, str):
        raise ValueError("'answer' is not a string")
    return {"answer": answer, "question_id": rec.get("question_id")}


def _entries(path: Path) -> list[tuple[str, dict[str, Any]]]:
    text = Path(path).read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput(path, f"malformed JSON: {exc}") from None
        return [(f"[{j}]", r) for j, r in enumerate(data)]
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                out.append((f"line {lineno}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise BadInput(path, f"not JSON ({exc.msg})", where=f"line {lineno}") from None
    return out


def read_predictions(path: Path, info: DatasetInfo) -> Iterator[tuple[str, dict[str, Any]]] | None:
    """``(sample source, prediction)`` for each entry of an official results list or of predict's JSONL."""
    qfile = info.extra.get("questions_file")
    if not qfile:
        return None
    questions, _, _ = read_questions(Path(qfile), Path(qfile).parent, str(info.extra.get("split", info.split)),
                                     info.extra.get("images"))
    images = {q["question_id"]: q["image"] for q in questions}
    out = []
    for where, r in _entries(path):
        if not isinstance(r, dict):
            raise BadInput(path, "expected an object", where=where)
        if "error" in r:
            continue
        if not isinstance(r.get("answer"), str) or ("question_id" not in r and "source" not in r):
            raise BadInput(path, "expected {\"question_id\", \"answer\"}", where=where)
        qid = r.get("question_id")
        if qid is None:
            out.append((str(r["source"]), {"answer": r["answer"], "question_id": None}))
        else:
            out.append((sample_source(images.get(qid, "?"), qid), {"answer": r["answer"], "question_id": qid}))
    return iter(out)
