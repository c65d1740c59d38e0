"""The semantic-segmentation task's scoring side, without torch: formats, embedded data, metric and record parsing.

``cvkit eval segment --data SPEC --predictions FILE`` loads this class (``TaskSpec.scoring``) instead of the task,
so scoring a predictions file never imports torch; :class:`cvkit_segment.task.SegmentTask` inherits it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cvkit.contract import BuiltinDataset, DatasetFormat, DatasetInfo, Evaluator, Scoring
from cvkit_segment import records
from cvkit_segment.datasets.coco import CocoSegFormat, CocoVocFormat
from cvkit_segment.datasets.sbd import SbdFormat
from cvkit_segment.datasets.shapes import ShapesSegDataset
from cvkit_segment.datasets.voc import VocSegFormat
from cvkit_segment.metrics.evaluator import SegmentationEvaluator


class SegmentScoring(Scoring):
    def formats(self) -> dict[str, DatasetFormat]:
        return {"voc": VocSegFormat(), "sbd": SbdFormat(), "coco": CocoSegFormat(), "coco-voc": CocoVocFormat()}

    def builtins(self) -> dict[str, BuiltinDataset]:
        return {"shapes": ShapesSegDataset()}

    def evaluator(self, info: DatasetInfo, metric: str | None = None) -> Evaluator:
        return SegmentationEvaluator(info, metric)

    def parse_record(self, record: dict[str, Any], info: DatasetInfo) -> Any:
        return records.parse_record(record, info)

    def read_predictions_file(self, path: Path, info: DatasetInfo) -> Iterator[tuple[str, Any]] | None:
        """A folder of label PNGs (the VOC results layout) or a COCO results list; None for predict's JSONL."""
        folder = records.read_png_folder(path, info)
        return folder if folder is not None else records.read_coco_results(path, info)
