"""COCO instances JSON turned into semantic label maps, in two class sets.

- ``coco:PATH``: background + every category of the file (80 + 1 for COCO), in category-id order;
  ``DatasetInfo.extra["category_ids"][k]`` is the COCO id of class ``k`` (0 for the background).
- ``coco-voc:PATH``: the 21 VOC classes; the 20 COCO categories that are VOC classes (airplane -> aeroplane,
  motorcycle -> motorbike, couch -> sofa, dining table -> diningtable, potted plant -> pottedplant, tv -> tvmonitor,
  and the 14 with the same name) keep their objects, every other category is background (as torchvision's
  segmentation references do).

PATH is a COCO root (``annotations/instances_<split>2017.json`` + ``<split>2017/``) or an annotation JSON (images in
``--images DIR`` or beside it), exactly as for detection, whose loader parses and validates the file. Objects are
painted in annotation order; pixels of two or more objects and crowd regions are void (255). Images without
annotations are kept (all background). Masks are rasterised when a sample is needed, not here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.errors import BadInput
from cvkit.vision.coco import is_coco, load_coco
from cvkit_segment.datasets.target import coco_target
from cvkit_segment.palette import VOC_CLASSES, voc_colormap

COCO_TO_VOC = {
    "airplane": "aeroplane", "bicycle": "bicycle", "bird": "bird", "boat": "boat", "bottle": "bottle", "bus": "bus",
    "car": "car", "cat": "cat", "chair": "chair", "cow": "cow", "dining table": "diningtable", "dog": "dog",
    "horse": "horse", "motorcycle": "motorbike", "person": "person", "potted plant": "pottedplant",
    "sheep": "sheep", "couch": "sofa", "train": "train", "tv": "tvmonitor",
}


class CocoSegFormat(DatasetFormat):
    name = "coco"
    description = "COCO instances JSON as label maps: background + every category (81 classes for COCO)"
    voc_classes = False

    def detect(self, path: Path) -> bool:
        return is_coco(path)

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        aset = load_coco(path, split, images=options.get("images"), skip_bad=bool(options.get("skip_bad")))
        ann = aset.files[0]
        if not self.voc_classes and len(aset.classes) > 254:  # uint8 label maps: background + 254 classes, 255 void
            raise BadInput(ann, f"{len(aset.classes):,} categories: semantic label maps hold at most 254 (plus "
                           "background); use coco-voc:PATH or a file with fewer categories", where="categories")
        if self.voc_classes:
            voc_index = {c: i for i, c in enumerate(VOC_CLASSES)}
            index = {k: voc_index[COCO_TO_VOC[c]] for k, c in enumerate(aset.classes) if c in COCO_TO_VOC}
            classes = list(VOC_CLASSES)
            extra: dict[str, Any] = {}
        else:
            index = {k: k + 1 for k in range(len(aset.classes))}
            classes = ["background", *aset.classes]
            extra = {"category_ids": [0] + [int(c) for c in aset.category_ids]}
        sources, targets = [], []
        for im in aset.images:
            objects = [{"id": o.id, "segmentation": o.segmentation if o.segmentation is not None else [],
                        "label": index[o.label], "iscrowd": int(o.iscrowd)} for o in im.objects if o.label in index]
            sources.append(im.path)
            targets.append(coco_target(ann, (im.height, im.width), objects))
        extra["colours"] = [[int(v) for v in c] for c in voc_colormap(len(classes))]
        extra["image_ids"] = aset.image_ids()
        fmt = "coco-voc" if self.voc_classes else "coco"
        info = DatasetInfo(name=aset.name, format=fmt, spec=f"{fmt}:{path}", split=aset.split, classes=classes,
                           extra=extra)
        return RawSplit(info, sources, targets, list(aset.files), skipped=aset.skipped)


class CocoVocFormat(CocoSegFormat):
    name = "coco-voc"
    description = "COCO instances JSON as label maps of the 21 VOC classes (other categories are background)"
    voc_classes = True

    def detect(self, path: Path) -> bool:
        return False  # chosen explicitly: coco-voc:PATH
