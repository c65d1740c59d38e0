"""A folder of images with one CSV per split: ``PATH/<split>.csv``, rows ``path,label;label;...``.

- ``path`` is relative to the CSV's folder (or absolute); the label field lists the image's labels separated by
  ``;`` (empty: no label applies). A first row ``path,labels`` (any header whose first cell is ``path``) is skipped.
  Standard CSV quoting applies, so a path with a comma is written in double quotes.
- Classes: the lines of ``PATH/classes.txt`` when present (order kept), else the sorted union of the labels of
  every split CSV in the folder (so that train and val agree on the indices).
- A row with a label missing from ``classes.txt``, a missing field or an empty path raises ``BadInput`` naming the
  file and line; ``--skip-bad`` leaves the row out and counts it.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.errors import BadInput

SPLIT_NAMES = {"val": ("val", "valid"), "valid": ("valid", "val")}


def split_file(root: Path, split: str) -> Path | None:
    for name in SPLIT_NAMES.get(split, (split,)):
        if (root / f"{name}.csv").is_file():
            return root / f"{name}.csv"
    return None


def read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """``(line number, cells)`` of the data rows (header and blank rows dropped)."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = [(n, row) for n, row in enumerate(csv.reader(fh), 1) if row and any(c.strip() for c in row)]
    except UnicodeDecodeError as exc:
        raise BadInput(path, f"not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise BadInput(path, f"malformed CSV ({exc})") from None
    if rows and rows[0][1][0].strip().lower() == "path":
        rows = rows[1:]
    return rows


def parse_labels(cell: str) -> list[str]:
    return [t.strip() for t in cell.split(";") if t.strip()]


def class_list(root: Path) -> list[str]:
    listed = root / "classes.txt"
    if listed.is_file():
        names = [ln.strip() for ln in listed.read_text(encoding="utf-8").splitlines() if ln.strip()]
        if len(set(names)) != len(names):
            raise BadInput(listed, "a class is listed twice")
        return names
    found: set[str] = set()
    for f in sorted(root.glob("*.csv")):
        for _, row in read_rows(f):
            if len(row) >= 2:
                found.update(parse_labels(row[1]))
    return sorted(found)


class CsvListFormat(DatasetFormat):
    name = "csv"
    description = "folder with <split>.csv files of 'path,label;label' rows (and optionally classes.txt)"

    def detect(self, path: Path) -> bool:
        return path.is_dir() and any(path.glob("*.csv")) and not (path / "annotations").is_dir()

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        root = Path(path)
        f = split_file(root, split)
        if f is None:
            raise BadInput(root, f"no {split}.csv in the folder (one CSV per split: train.csv, val.csv, ...)")
        classes = class_list(root)
        index = {c: i for i, c in enumerate(classes)}
        sources, targets, skipped = [], [], 0
        for lineno, row in read_rows(f):
            try:
                if len(row) != 2 or not row[0].strip():
                    raise BadInput(f, "expected 'path,label;label'", where=f"line {lineno}")
                unknown = [t for t in parse_labels(row[1]) if t not in index]
                if unknown:
                    raise BadInput(f, f"label {unknown[0]!r} is not in classes.txt", where=f"line {lineno}")
            except BadInput:
                if not options.get("skip_bad"):
                    raise
                skipped += 1
                continue
            p = Path(row[0].strip())
            sources.append(str(p if p.is_absolute() else root / p))
            present = {index[t] for t in parse_labels(row[1])}
            targets.append([1 if c in present else -1 for c in range(len(classes))])
        info = DatasetInfo(root.name, self.name, f"csv:{root}", split, classes)
        files = [f] + ([root / "classes.txt"] if (root / "classes.txt").is_file() else [])
        return RawSplit(info, sources, targets, files, skipped)
