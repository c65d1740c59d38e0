"""COCO instances JSON with masks (``instances_<split>2017.json``).

The same paths as detection (``coco:ROOT`` or ``coco:FILE.json`` with ``--images DIR``), parsed and validated by the
detection plugin's loader; this module adds each object's ``segmentation`` (polygons for ordinary objects, RLE for
crowd regions, or compressed RLE) to the target. Crowd regions are kept with ``iscrowd`` (ignored by the metrics, as
pycocotools does, and left out of training). Category ids are mapped to contiguous indices in id order and back
(``DatasetInfo.extra["category_ids"]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.console import warn
from cvkit.errors import BadInput
from cvkit.task import DatasetFormat, DatasetInfo, RawSplit
from cvkit_detect.datasets.coco import SPLIT_ALIASES, _images_dir, annotation_file, parse_instances
from cvkit_detect.datasets.coco import CocoFormat as DetectCocoFormat
from cvkit_instance.datasets.target import make_instance_target


def _segmentation(a: dict[str, Any], f: Path, i: int) -> Any:
    segm = a.get("segmentation")
    ok = (isinstance(segm, list) and all(isinstance(p, list) for p in segm)) or \
        (isinstance(segm, dict) and "counts" in segm and "size" in segm)
    if not ok:
        raise BadInput(f, "segmentation must be a list of polygons or an RLE {size, counts}",
                       where=f"annotation id {a.get('id', i)}")
    return segm


class CocoInstanceFormat(DatasetFormat):
    name = "coco"
    description = "COCO instances JSON with polygon/RLE masks: a root with annotations/instances_<split>2017.json"

    def detect(self, path: Path) -> bool:
        return DetectCocoFormat().detect(path)

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        split = SPLIT_ALIASES.get(split, split)
        ann = annotation_file(Path(path), split)
        skip_bad = bool(options.get("skip_bad"))
        parsed = parse_instances(ann, skip_bad)
        images, cats, by_image = parsed.images, parsed.categories, parsed.by_image
        bad = list(parsed.bad)
        index = {c["id"]: i for i, c in enumerate(cats)}
        img_dir = _images_dir(ann, Path(path), split, options, images[0]["file_name"] if images else None)
        sources, targets = [], []
        for im in images:
            anns, segs = [], []
            for i, a in enumerate(by_image.get(im["id"], [])):
                try:
                    segs.append(_segmentation(a, ann, i))
                    anns.append(a)
                except BadInput as exc:
                    if not skip_bad:
                        raise
                    bad.append(exc)
            sources.append(str(img_dir / im["file_name"]))
            targets.append(make_instance_target(
                [[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in anns)],
                [index[a["category_id"]] for a in anns], (im.get("height", 0), im.get("width", 0)), segs,
                iscrowd=[bool(a.get("iscrowd", 0)) for a in anns],
                area=[a.get("area", a["bbox"][2] * a["bbox"][3]) for a in anns], image_id=im["id"], file=ann,
            ))
        info = DatasetInfo(
            name=ann.stem, format="coco", spec=f"coco:{path}", split=split, classes=[c["name"] for c in cats],
            extra={"category_ids": [c["id"] for c in cats],
                   "image_ids": {Path(im["file_name"]).name: im["id"] for im in images}},
        )
        if bad:
            warn(f"skipped: {ann}: {len(bad)} bad entries (first: {bad[0].where}: {bad[0].reason})")
        return RawSplit(info, sources, targets, [ann], skipped=len(bad))
