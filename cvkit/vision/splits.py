"""An :class:`~cvkit.vision.schema.AnnotationSet` as the contract's ``RawSplit`` (torch-free, for scoring)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import DatasetInfo, RawSplit
from cvkit.vision.schema import AnnotationSet


def raw_split(aset: AnnotationSet, path: Path, targets: list[Any], fmt: str | None = None,
              extra: dict[str, Any] | None = None, classes: list[str] | None = None,
              sources: list[str] | None = None) -> RawSplit:
    """The contract's ``RawSplit`` of an AnnotationSet: its images' paths, ``targets`` (one per image), the files it
    read and what it skipped; ``DatasetInfo`` named after the set with ``extra``."""
    fmt = fmt or aset.format
    info = DatasetInfo(name=aset.name, format=fmt, spec=f"{fmt}:{path}", split=aset.split,
                       classes=list(aset.classes if classes is None else classes), extra=dict(extra or {}))
    return RawSplit(info, sources if sources is not None else [im.path for im in aset.images], targets,
                    list(aset.files), skipped=aset.skipped)
