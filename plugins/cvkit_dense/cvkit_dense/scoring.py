"""The dense-prediction task's scoring side, without torch: formats, embedded data, metric and record parsing.

``cvkit eval dense --data SPEC --predictions FILE`` loads this class (``TaskSpec.scoring``) instead of the task,
so scoring a predictions file never imports torch; :class:`cvkit_dense.task.DenseTask` inherits it.
"""

from __future__ import annotations

from typing import Any

from cvkit.contract import BuiltinDataset, DatasetFormat, DatasetInfo, Evaluator, Scoring
from cvkit_dense import records
from cvkit_dense.datasets.folder import DepthFolderFormat
from cvkit_dense.datasets.kitti import KittiDepthFormat
from cvkit_dense.datasets.nyu import NyuFormat
from cvkit_dense.datasets.rooms import RoomsDataset
from cvkit_dense.metrics import MODES, DenseEvaluator


class DenseScoring(Scoring):
    def formats(self) -> dict[str, DatasetFormat]:
        return {"depthfolder": DepthFolderFormat(), "kitti": KittiDepthFormat(), "nyu": NyuFormat()}

    def builtins(self) -> dict[str, BuiltinDataset]:
        return {"rooms": RoomsDataset()}

    def evaluator(self, info: DatasetInfo, metric: str | None = None) -> Evaluator:
        return DenseEvaluator(info, metric)

    def metric_names(self) -> list[str]:
        return list(MODES)

    def parse_record(self, record: dict[str, Any], info: DatasetInfo) -> Any:
        return records.parse_record(record)
