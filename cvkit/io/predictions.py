"""Reading predictions files (``predict``'s JSON Lines) defensively: every record is validated before a task
parses it, and every problem names the file and the line.

A record must be a JSON object with a non-empty string ``source`` that no earlier record named; numbers must be
finite and below 1e15 in magnitude; nesting is limited; and the fields of the contract's records are checked
wherever they appear: ``index`` a class index (an integer, not a string or a boolean, in range for the dataset's
classes), ``score`` a number, ``box`` four numbers (or null), ``label`` a string. Binary files, over-long lines, NaN and
Infinity are refused. With ``--skip-bad`` a bad record is skipped and counted instead of stopping.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cvkit.console import warn
from cvkit.errors import BadInput

MAX_LINE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 32
MAX_MAGNITUDE = 1e15


class BadRecords:
    """Stops at the first bad record, or (``skip_bad``) counts them and reports the first when done."""

    def __init__(self, skip_bad: bool) -> None:
        self.skip_bad = skip_bad
        self.count = 0
        self.first: BadInput | None = None

    def bad(self, error: BadInput) -> None:
        if not self.skip_bad:
            raise error
        self.count += 1
        self.first = self.first or error

    def report(self) -> None:
        if self.count:
            warn(f"skipped {self.count} bad prediction record(s) (first: {self.first})")


def read_prediction_records(path: str | Path, classes: list[str] | None = None,
                            bad: BadRecords | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, record)`` for every valid prediction record of a JSON Lines file (error records that
    ``predict`` wrote for unreadable inputs are passed over)."""
    path = Path(path)
    bad = bad or BadRecords(False)
    seen: dict[str, int] = {}
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise BadInput(path, f"cannot read: {exc.strerror or exc}") from None
    with fh:
        if b"\0" in fh.read(8192):
            raise BadInput(path, "binary data, not a JSON Lines predictions file")
        fh.seek(0)
        lineno = 0
        while True:
            raw = fh.readline(MAX_LINE_BYTES + 1)
            if not raw:
                break
            lineno += 1
            where = f"line {lineno}"
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # skip the rest of the line
                    raw = fh.readline(MAX_LINE_BYTES)
                bad.bad(BadInput(path, f"line longer than {MAX_LINE_BYTES // 2**20} MiB", where=where))
                continue
            if not raw.strip():
                continue
            try:
                record = validate_record(_parse(raw), classes)
            except ValueError as exc:
                bad.bad(BadInput(path, str(exc), where=where))
                continue
            if "error" in record:
                continue
            key = os.path.normpath(record["source"])
            if key in seen:
                bad.bad(BadInput(path, f"second prediction for source {record['source']!r} (first at line "
                                 f"{seen[key]})", where=where))
                continue
            seen[key] = lineno
            yield lineno, record


def _parse(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg}, column {exc.colno})") from None
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ValueError(f"not a usable number ({str(exc).split(';')[0]})") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid number")


def validate_record(record: Any, classes: list[str] | None = None) -> dict[str, Any]:
    """The record itself when it is a valid prediction record, else ValueError saying what is wrong (the field
    named as a path such as ``topk[2].index``)."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object with a 'source' field, got {_kind(record)}")
    source = record.get("source")
    if not isinstance(source, str) or not source:
        raise ValueError(f"'source' must be a non-empty string, got {_kind(source)}")
    if "error" not in record:
        _check(record, "", 0, len(classes) if classes else 0)
    return record


def _check(value: Any, at: str, depth: int, num_classes: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            field = f"{at}.{key}" if at else str(key)
            _check_field(str(key), item, field, num_classes)
            _check(item, field, depth + 1, num_classes)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check(item, f"{at}[{i}]", depth + 1, num_classes)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{at}: {value} is not a finite number")
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > MAX_MAGNITUDE:
        raise ValueError(f"{at}: {value:g} is out of range")


def _check_field(key: str, value: Any, field: str, num_classes: int) -> None:
    if key == "index":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{field}: a class index must be an integer, got {_kind(value)}")
        if value < 0 or (num_classes and value >= num_classes):
            limit = f" (the dataset has {num_classes} classes)" if num_classes else ""
            raise ValueError(f"{field}: class index {value} is out of range{limit}")
    elif key == "score":
        if not _is_number(value):
            raise ValueError(f"{field}: a score must be a number, got {_kind(value)}")
    elif key == "box":
        if value is not None and not (isinstance(value, list) and len(value) == 4 and all(map(_is_number, value))):
            raise ValueError(f"{field}: a box must be 4 numbers [x1, y1, x2, y2], got {_kind(value)}")
    elif key == "label":
        if not isinstance(value, str):
            raise ValueError(f"{field}: a label must be a string, got {_kind(value)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    text = json.dumps(value) if isinstance(value, (str, int, float, bool)) else type(value).__name__
    return f"{type(value).__name__} {text[:40]}" if isinstance(value, (str, int, float)) else text


def coco_image_id(source: str) -> int:
    """The ``image_id`` that ``predict --format coco`` writes for an input whose dataset id is unknown, and that
    ``eval --predictions`` matches back to the split's files: a numeric file stem as its number (COCO's
    ``000000000139.jpg`` is 139), a VOC-style stem of digits and underscores as its digits (``2008_000123`` is
    2008000123), any other stem as a stable 48-bit hash of it (JSON-safe, the same in every process)."""
    import hashlib

    stem = Path(source).stem
    if stem.isascii() and stem.isdigit():
        return int(stem)
    digits = stem.replace("_", "")
    if digits.isascii() and digits.isdigit() and stem[0] != "_":
        return int(digits)
    return int.from_bytes(hashlib.sha1(stem.encode("utf-8")).digest()[:6], "big")
