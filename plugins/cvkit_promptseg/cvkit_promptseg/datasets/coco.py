"""COCO instances with masks: ``coco:ROOT`` (``annotations/instances_<split>2017.json`` + ``<split>2017/``) or
``coco:FILE.json`` (images beside it or in ``--images DIR``), read and validated by :mod:`cvkit.vision.coco`.

Every object must carry a polygon or RLE segmentation (the prompts are sampled from it); crowd regions are left
out of training and evaluation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.vision.coco import is_coco, load_coco
from cvkit_promptseg.datasets.target import CLASSES, from_image


class CocoPromptFormat(DatasetFormat):
    name = "coco"
    description = "COCO instances JSON with polygon/RLE masks: a root with annotations/instances_<split>2017.json"

    def detect(self, path: Path) -> bool:
        return is_coco(path)

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        ann = load_coco(path, split, images=options.get("images"), skip_bad=bool(options.get("skip_bad")),
                        masks=True)
        info = DatasetInfo(name=ann.name, format="coco", spec=f"coco:{path}", split=ann.split, classes=list(CLASSES),
                           extra={"object_classes": list(ann.classes), "category_ids": list(ann.category_ids),
                                  "image_ids": ann.image_ids()})
        return RawSplit(info, [im.path for im in ann.images], [from_image(im) for im in ann.images],
                        list(ann.files), skipped=ann.skipped)
