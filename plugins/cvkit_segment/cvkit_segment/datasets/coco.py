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

from cvkit.console import warn
from cvkit.task import DatasetFormat, DatasetInfo, RawSplit
from cvkit_detect.datasets.coco import SPLIT_ALIASES, _images_dir, annotation_file, parse_instances
from cvkit_detect.datasets.coco import CocoFormat as DetectCocoFormat
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
        return DetectCocoFormat().detect(path)

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        split = SPLIT_ALIASES.get(split, split)
        ann = annotation_file(Path(path), split)
        parsed = parse_instances(ann, bool(options.get("skip_bad")))
        if parsed.bad:
            warn(f"skipped: {ann}: {len(parsed.bad)} bad entries (first: {parsed.bad[0].where}: "
                 f"{parsed.bad[0].reason})")
        images, cats, by_image = parsed.images, parsed.categories, parsed.by_image
        if self.voc_classes:
            voc_index = {c: i for i, c in enumerate(VOC_CLASSES)}
            index = {c["id"]: voc_index[COCO_TO_VOC[c["name"]]] for c in cats if c["name"] in COCO_TO_VOC}
            classes = list(VOC_CLASSES)
            extra: dict[str, Any] = {}
        else:
            index = {c["id"]: i + 1 for i, c in enumerate(cats)}
            classes = ["background"] + [c["name"] for c in cats]
            extra = {"category_ids": [0] + [int(c["id"]) for c in cats]}
        img_dir = _images_dir(ann, Path(path), split, options, images[0]["file_name"] if images else None)
        sources, targets = [], []
        for im in images:
            objects = [{"id": a.get("id"), "segmentation": a.get("segmentation", []), "label": index[a["category_id"]],
                        "iscrowd": int(bool(a.get("iscrowd", 0)))}
                       for a in by_image.get(im["id"], []) if a["category_id"] in index]
            sources.append(str(img_dir / im["file_name"]))
            targets.append(coco_target(ann, (im.get("height", 0), im.get("width", 0)), objects))
        extra["colours"] = [[int(v) for v in c] for c in voc_colormap(len(classes))]
        extra["image_ids"] = {Path(im["file_name"]).name: im["id"] for im in images}
        fmt = "coco-voc" if self.voc_classes else "coco"
        info = DatasetInfo(name=ann.stem, format=fmt, spec=f"{fmt}:{path}", split=split, classes=classes, extra=extra)
        return RawSplit(info, sources, targets, [ann], skipped=len(parsed.bad))


class CocoVocFormat(CocoSegFormat):
    name = "coco-voc"
    description = "COCO instances JSON as label maps of the 21 VOC classes (other categories are background)"
    voc_classes = True

    def detect(self, path: Path) -> bool:
        return False  # chosen explicitly: coco-voc:PATH
