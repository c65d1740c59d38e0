"""``coco:PATH``: COCO instances JSON (a root with ``annotations/instances_<split>2017.json`` + ``<split>2017/``, or
the JSON file with its images in ``--images DIR`` or beside it), read and validated by :mod:`cvkit.vision.coco`.

Targets are :mod:`cvkit.vision.detections` raw targets; COCO's own ``bbox`` numbers and ``area`` are kept, so the
metrics score the file's boxes exactly as pycocotools does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, RawSplit
from cvkit.vision.coco import is_coco, load_coco
from cvkit.vision.detections import target_of
from cvkit.vision.splits import raw_split


class CocoFormat(DatasetFormat):
    name = "coco"
    description = "COCO instances JSON: a root with annotations/instances_<split>2017.json, or the JSON file"

    def detect(self, path: Path) -> bool:
        return is_coco(path)

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        aset = load_coco(path, split, images=options.get("images"), skip_bad=bool(options.get("skip_bad")))
        extra = {"category_ids": list(aset.category_ids), "image_ids": aset.image_ids()}
        return raw_split(aset, path, [target_of(im) for im in aset.images], extra=extra)
