"""COCO instances JSON with masks (``instances_<split>2017.json``).

The same paths as detection (``coco:ROOT`` or ``coco:FILE.json`` with ``--images DIR``), read and validated by
:mod:`cvkit.vision.coco` with every object required to carry a ``segmentation`` (polygons for ordinary objects, RLE
for crowd regions, or compressed RLE). Crowd regions are kept with ``iscrowd`` (ignored by the metrics, as
pycocotools does, and left out of training). Category ids are mapped to contiguous indices in id order and back
(``DatasetInfo.extra["category_ids"]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, RawSplit
from cvkit.vision.coco import is_coco, load_coco
from cvkit.vision.detections import target_of
from cvkit.vision.splits import raw_split


class CocoInstanceFormat(DatasetFormat):
    name = "coco"
    description = "COCO instances JSON with polygon/RLE masks: a root with annotations/instances_<split>2017.json"

    def detect(self, path: Path) -> bool:
        return is_coco(path)

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        aset = load_coco(path, split, images=options.get("images"), skip_bad=bool(options.get("skip_bad")),
                         masks=True)
        targets = []
        for im in aset.images:
            t = target_of(im)
            t["segmentation"] = [o.segmentation for o in im.objects]
            t["file"] = str(aset.files[0])
            targets.append(t)
        extra = {"category_ids": list(aset.category_ids), "image_ids": aset.image_ids()}
        return raw_split(aset, path, targets, extra=extra)
