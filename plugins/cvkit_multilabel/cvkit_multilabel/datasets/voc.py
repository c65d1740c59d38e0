"""PASCAL VOC classification: ``ImageSets/Main/<class>_<split>.txt`` lines ``<id> 1|-1|0`` (0 = difficult).

Read through ``cvkit.vision.voc.load_voc_classification``. An image missing from a class's list is not scored for
that class (0), as the devkit scores a class only on the images its list names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit


class VocClassificationFormat(DatasetFormat):
    name = "voc"
    description = "PASCAL VOC ImageSets/Main/<class>_<split>.txt (1 / -1 / 0 = difficult); VOCdevkit or year roots"

    def detect(self, path: Path) -> bool:
        from cvkit.vision.voc import year_roots

        try:
            roots = year_roots(path)
        except Exception:
            return False
        return any(any((Path(r) / "ImageSets" / "Main").glob("*_*.txt")) for r in roots)

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        from cvkit.vision.voc import load_voc_classification

        aset = load_voc_classification(path, split)
        classes = list(aset.classes)
        targets = [[int(im.labels.get(c, 0)) for c in classes] for im in aset.images]
        year = aset.extra.get("year") or _year(aset.name)
        info = DatasetInfo(aset.name, self.name, f"voc:{path}", split, classes,
                           {"year": year} if year else {})
        return RawSplit(info, [im.path for im in aset.images], targets, list(aset.files), aset.skipped)


def _year(name: str) -> str | None:
    digits = "".join(ch for ch in str(name) if ch.isdigit())
    return digits[:4] if len(digits) >= 4 else None
