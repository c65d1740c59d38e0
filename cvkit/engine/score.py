"""Scoring a predictions file against annotations, without torch: ``cvkit eval TASK --data SPEC --predictions FILE``.

``task`` is anything with the :class:`cvkit.contract.Scoring` methods: the plugin's torch-free scoring class
(``TaskSpec.scoring``) or its full :class:`cvkit.task.Task`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cvkit.console import warn
from cvkit.contract import RawSplit
from cvkit.errors import BadInput, CvkitError
from cvkit.io.predictions import BadRecords, coco_image_id, read_prediction_records


@dataclass
class EvalResult:
    metrics: dict[str, float]
    primary: str
    num_samples: int
    seconds: float
    skipped: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    higher_is_better: bool = True


def evaluate_predictions(task: Any, raw: RawSplit, path: Path, metric: str | None = None,
                         skip_bad: bool = False) -> EvalResult:
    """Score a predictions file against the annotations alone (no image is decoded).

    Records are matched to samples by path as given, then by resolved path, then by file stem. Every JSONL record
    is validated (cvkit.io.predictions); a bad one stops with its file and line, or is skipped and counted."""
    start = time.perf_counter()
    if not path.exists():
        raise CvkitError(f"{path}: no such predictions file")
    bad = BadRecords(skip_bad)
    pairs = task.read_predictions_file(path, raw.info)
    if pairs is None:
        pairs = _read_jsonl(task, path, raw, bad)
    index = _source_index(raw.sources)
    evaluator = task.evaluator(raw.info, metric)
    matched: set[int] = set()
    unmatched = 0
    for source, pred in pairs:
        i = _match(index, source)
        if i is None:
            unmatched += 1
            continue
        evaluator.update([i], [pred], [raw.targets[i]])
        matched.add(i)
    if not matched:
        raise CvkitError(f"{path}: no prediction matches an image of {raw.info.spec} split {raw.info.split!r}")
    if unmatched:
        warn(f"{path}: {unmatched} prediction record(s) name no image of the split; ignored")
    missing = len(raw.sources) - len(matched)
    if missing:
        warn(f"{path}: {missing} image(s) of the split have no prediction (scored as no prediction)")
        for i in range(len(raw.sources)):
            if i not in matched:
                evaluator.update([i], [task.parse_record({}, raw.info)], [raw.targets[i]])
    bad.report()
    return EvalResult(evaluator.compute(), evaluator.primary, len(raw.sources), time.perf_counter() - start,
                      bad.count, evaluator.details(), evaluator.higher_is_better)


def _read_jsonl(task: Any, path: Path, raw: RawSplit, bad: BadRecords):
    for lineno, rec in read_prediction_records(path, raw.info.classes, bad):
        try:
            pred = task.parse_record(rec, raw.info)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            bad.bad(BadInput(path, f"malformed {task.name} record ({type(exc).__name__}: {exc})",
                             where=f"line {lineno}"))
            continue
        yield rec["source"], pred


def _source_index(sources: list[str]) -> dict[str, dict[str, int]]:
    by_path, by_resolved, by_stem, by_id = {}, {}, {}, {}
    for i, s in enumerate(sources):
        by_path.setdefault(s, i)
        by_resolved.setdefault(str(Path(s).resolve()), i)
        by_stem.setdefault(Path(s).stem, i)
        by_id.setdefault(str(coco_image_id(s)), i)
    return {"path": by_path, "resolved": by_resolved, "stem": by_stem, "id": by_id}


def _match(index: dict[str, dict[str, int]], source: str) -> int | None:
    """A record's sample: by path as given, resolved path, file stem, then (a COCO results entry of a dataset
    without image ids, e.g. VOC) by the image id ``predict --format coco`` gave the file."""
    if source in index["path"]:
        return index["path"][source]
    resolved = str(Path(source).resolve())
    if resolved in index["resolved"]:
        return index["resolved"][resolved]
    stem = Path(source).stem
    if stem in index["stem"]:
        return index["stem"][stem]
    return index["id"].get(source)
