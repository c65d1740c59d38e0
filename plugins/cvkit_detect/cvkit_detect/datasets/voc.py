"""``voc:PATH``: PASCAL VOC 2007/2012 detection (``Annotations/``, ``ImageSets/Main/``, ``JPEGImages/``; PATH a year
folder, a VOCdevkit folder, or several roots joined by commas), read by :mod:`cvkit.vision.voc` (defusedxml).

Boxes become 0-based pixel edges (``[xmin - 1, ymin - 1, xmax, ymax]``); ``difficult`` objects are kept and ignored by
the metrics. ``DatasetInfo.extra["year"]`` (the oldest year) picks the default metric (11-point before 2010).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, RawSplit
from cvkit.vision.detections import target_of
from cvkit.vision.splits import raw_split
from cvkit.vision.voc import VOC_CLASSES, load_voc, year_roots

__all__ = ["VOC_CLASSES", "VocFormat"]


class VocFormat(DatasetFormat):
    name = "voc"
    description = "PASCAL VOC 2007/2012 layout (Annotations/, ImageSets/Main/, JPEGImages/); roots joined by commas"

    def detect(self, path: Path) -> bool:
        return bool(year_roots(path))

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        aset = load_voc(path, split, skip_bad=bool(options.get("skip_bad")))
        extra = {"year": aset.extra.get("year"), "years": aset.extra.get("years", [])}
        return raw_split(aset, path, [target_of(im) for im in aset.images], extra=extra)
