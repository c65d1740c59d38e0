"""Prediction records (JSONL), CSV rows, COCO results, and reading a COCO results file back.

A record is ``{"detections": [{"label", "index", "score", "box": [x1, y1, x2, y2], "area", "rle"}]}``, best
first: the core's detection fields (:mod:`cvkit.vision.detections`) plus the mask as a COCO compressed RLE
(``{"size": [h, w], "counts": str}``) of the original image and its pixel count. ``--format coco`` writes one result
per detection with ``bbox``, ``segmentation`` and ``score`` (as Detectron2 does; scoring a mask result, cvkit
ignores its ``bbox``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cvkit.contract import DatasetInfo
from cvkit.vision import detections
from cvkit.vision.detections import csv_rows
from cvkit_instance.metrics.evaluator import as_prediction

__all__ = ["coco_results", "csv_rows", "parse_record", "read_coco_results", "record"]


def record(prediction: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
    return detections.to_record(as_prediction(prediction), info.classes)


def parse_record(rec: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
    """The prediction written by :func:`record`; ``{}`` is the empty prediction. Malformed entries raise ValueError."""
    return detections.from_record(rec, info.classes, masks=True)


def coco_results(prediction: dict[str, Any], info: DatasetInfo, image_id: Any) -> list[dict[str, Any]]:
    return detections.coco_results(as_prediction(prediction), info, image_id)


def read_coco_results(path: Path, info: DatasetInfo) -> Iterator[tuple[str, dict[str, Any]]] | None:
    """A COCO ``segm`` results list as ``(file name, prediction)`` per image; None when ``path`` is not a list.
    A result's box is its ``bbox`` when given, else the box of its mask."""
    return detections.read_results(path, info, masks=True)
