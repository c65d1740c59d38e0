"""Defect 5: eval --predictions validates every record and names the file and the line; --skip-bad counts."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from cvkit.errors import BadInput
from tests.conftest import cvkit


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """An ImageFolder of 3 classes x 2 images (flat layout: every split is this folder)."""
    root = tmp_path / "D"
    for c in range(3):
        (root / f"c{c}").mkdir(parents=True)
        for k in range(2):
            cv2.imwrite(str(root / f"c{c}" / f"{c}{k}.png"), np.full((4, 4, 3), 40 * c, np.uint8))
    return root


def _sources(root: Path) -> list[tuple[str, int]]:
    return [(str(root / f"c{c}" / f"{c}{k}.png"), c) for c in range(3) for k in range(2)]


def _rec(source: str, index: object, score: object = 0.9) -> dict:
    return {"source": source, "task": "classify", "topk": [{"label": "c0", "index": index, "score": score}]}


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _score(dataset: Path, preds: Path, skip_bad: bool = False):
    from cvkit.data import load_split
    from cvkit.engine.evaluate import evaluate_predictions
    from cvkit.plugin import get_task

    task = get_task("classify")
    raw = load_split(task, f"imagefolder:{dataset}", "val", {})
    return evaluate_predictions(task, raw, preds, skip_bad=skip_bad)


def _good(dataset: Path) -> list[str]:
    return [json.dumps(_rec(s, c)) for s, c in _sources(dataset)]


BAD_VALUES = {
    "negative index": ('"index": -1', "topk[0].index: class index -1 is out of range"),
    "index too large": ('"index": 3', "topk[0].index: class index 3 is out of range (the dataset has 3 classes)"),
    "index as a string": ('"index": "2"', "topk[0].index: a class index must be an integer, got str"),
    "index as a boolean": ('"index": true', "a class index must be an integer, got bool"),
    "NaN score": ('"score": NaN', "NaN is not a valid number"),
    "infinite score": ('"score": 1e999', "topk[0].score: inf is not a finite number"),
    "huge number": ('"score": 1e300', "topk[0].score: 1e+300 is out of range"),
    "huge integer": ('"score": ' + "9" * 5000, "not a usable number"),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_bad_values_name_file_and_line(dataset: Path, tmp_path: Path, case: str) -> None:
    replace, message = BAD_VALUES[case]
    lines = _good(dataset)
    bad = json.dumps(_rec(_sources(dataset)[2][0], 1))
    lines[2] = bad.replace('"index": 1', replace) if replace.startswith('"index"') else bad.replace('"score": 0.9',
                                                                                                  replace)
    assert lines[2] != bad
    preds = _write(tmp_path / "preds.jsonl", lines)
    with pytest.raises(BadInput) as info:
        _score(dataset, preds)
    assert str(info.value).startswith(f"{preds} (line 3): ")
    assert message in str(info.value)


@pytest.mark.parametrize(("line", "message"), [
    ('{"source": 7, "topk": []}', "'source' must be a non-empty string, got int 7"),
    ('[1, 2]', "expected a JSON object with a 'source' field, got list"),
    ('{"source": "a.png", "topk": ' + "[" * 5000 + "]" * 5000 + "}", "nested deeper than"),
    ('{"source": "a.png", "topk": [{"index": 0, "score": 0.5, "box": [1, 2]}]}', "a box must be 4 numbers"),
])
def test_malformed_records_name_file_and_line(dataset: Path, tmp_path: Path, line: str, message: str) -> None:
    preds = _write(tmp_path / "preds.jsonl", _good(dataset)[:1] + [line])
    with pytest.raises(BadInput, match=r"preds\.jsonl \(line 2\): ") as info:
        _score(dataset, preds)
    assert message in str(info.value)


def test_duplicate_sources_are_an_error_not_last_wins(dataset: Path, tmp_path: Path) -> None:
    lines = _good(dataset)
    first = _sources(dataset)[0][0]
    lines.append(json.dumps(_rec(first, 2)))
    preds = _write(tmp_path / "preds.jsonl", lines)
    with pytest.raises(BadInput, match=r"\(line 7\): second prediction for source .*\(first at line 1\)"):
        _score(dataset, preds)


def test_binary_files_are_refused(dataset: Path, tmp_path: Path) -> None:
    preds = tmp_path / "preds.jsonl"
    preds.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)))
    with pytest.raises(BadInput, match=r"preds\.jsonl: binary data"):
        _score(dataset, preds)


def test_skip_bad_counts_the_skipped_records_and_scores_the_rest(dataset: Path, tmp_path: Path) -> None:
    lines = _good(dataset)
    lines[1] = lines[1].replace('"index": 0', '"index": -1')
    lines.append("not json")
    preds = _write(tmp_path / "preds.jsonl", lines)
    result = _score(dataset, preds, skip_bad=True)
    assert result.skipped == 2
    # line 2 skipped: its image scores as "no prediction" (a miss); the other 5 are right
    assert result.metrics["top1"] == pytest.approx(5 / 6)


def test_cli_one_error_line_naming_file_and_line(dataset: Path, tmp_path: Path) -> None:
    lines = _good(dataset)
    lines[3] = lines[3].replace('"index": 1', '"index": "1"')
    preds = _write(tmp_path / "preds.jsonl", lines)
    proc = cvkit("eval", "classify", "--data", f"imagefolder:{dataset}", "--predictions", str(preds), "--json")
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert errors == [f"error: {preds} (line 4): topk[0].index: a class index must be an integer, got str \"1\""]
