"""Prediction records (JSONL), CSV rows, COCO results, and reading a COCO results file back: the core's
:mod:`cvkit.vision.detections` formats, boxes only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cvkit.contract import DatasetInfo
from cvkit.vision import detections
from cvkit.vision.detections import csv_rows

__all__ = ["coco_results", "csv_rows", "parse_record", "read_coco_results", "record"]


def record(prediction: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
    """``{"detections": [{"label", "index", "score", "box": [x1, y1, x2, y2]}]}``, best first, 0-based pixels."""
    return detections.to_record(prediction, info.classes)


def parse_record(rec: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
    return detections.from_record(rec, info.classes)


def coco_results(prediction: dict[str, Any], info: DatasetInfo, image_id: Any) -> list[dict[str, Any]]:
    return detections.coco_results({k: prediction[k] for k in ("boxes", "scores", "labels")}, info, image_id)


def read_coco_results(path: Path, info: DatasetInfo) -> Iterator[tuple[str, dict[str, Any]]] | None:
    """A COCO ``bbox`` results list as ``(file name, prediction)`` per image, boxes exactly as written."""
    return detections.read_results(path, info)
