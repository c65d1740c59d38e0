"""COCO instances turned into image-level labels: a class is present (1) in an image that has at least one
annotation of it (crowd regions included), absent (-1) otherwise. Read through ``cvkit.vision.coco.load_coco``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit


class CocoLabelsFormat(DatasetFormat):
    name = "coco"
    description = "COCO instances JSON (root with annotations/instances_<split>2017.json, or the JSON file)"

    def detect(self, path: Path) -> bool:
        from cvkit.vision.coco import is_coco

        return is_coco(path)

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        from cvkit.vision.coco import load_coco

        aset = load_coco(path, split, images=options.get("images"), skip_bad=bool(options.get("skip_bad")))
        targets = []
        for im in aset.images:
            present = {o.label for o in im.objects}
            targets.append([1 if c in present else -1 for c in range(len(aset.classes))])
        info = DatasetInfo(aset.name, self.name, f"coco:{path}", split, list(aset.classes),
                           {"category_ids": list(aset.category_ids)})
        return RawSplit(info, [im.path for im in aset.images], targets, list(aset.files), aset.skipped)
