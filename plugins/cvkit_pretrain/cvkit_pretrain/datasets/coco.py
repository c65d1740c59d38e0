"""``coco``: COCO instances (a root with ``annotations/instances_<split>2017.json`` or the JSON file itself),
read through :mod:`cvkit.vision.coco`. The label of an image, for the probes, is the class of its largest object
(COCO's ``area``; crowd regions left out); an image without objects is unlabelled (-1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.task import DatasetFormat, DatasetInfo, RawSplit
from cvkit.vision.coco import is_coco, load_coco
from cvkit.vision.schema import ImageAnnotation


def image_label(image: ImageAnnotation) -> int:
    """The label of the largest non-crowd object (the first one on equal areas), -1 when there is none."""
    objects = [o for o in image.objects if not o.iscrowd]
    if not objects:
        return -1
    return max(objects, key=lambda o: o.region_area()).label


class CocoFormat(DatasetFormat):
    name = "coco"
    description = "COCO instances JSON + images; label of an image = class of its largest object"

    def detect(self, path: Path) -> bool:
        return is_coco(path)

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        images = options.get("images")
        ann = load_coco(path, split, images=images, skip_bad=bool(options.get("skip_bad", False)))
        targets = [image_label(im) for im in ann.images]
        info = DatasetInfo(name=ann.name, format=self.name, spec=f"{self.name}:{path}", split=split,
                           classes=list(ann.classes),
                           extra={"category_ids": list(ann.category_ids), "labelled": any(t >= 0 for t in targets),
                                  **({"images": str(images)} if images else {})})
        return RawSplit(info=info, sources=[im.path for im in ann.images], targets=targets, files=list(ann.files),
                        skipped=ann.skipped)
