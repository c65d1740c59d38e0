"""PASCAL VOC segmentation layout (VOC2012 ``SegmentationClass``) and datasets written the same way.

``--data voc:ROOT`` where ROOT is a year folder (``VOCdevkit/VOC2012``) holding ``ImageSets/Segmentation/<split>.txt``
(one image id a line), ``JPEGImages/<id>.jpg`` and ``SegmentationClass/<id>.png``, or a ``VOCdevkit`` folder (its
year folders that have the split are combined). Label PNGs are palette images read as class indices, never converted
to RGB; 255 is void (object borders, ambiguous pixels), ignored by the loss and the metric.

Classes: the 21 VOC classes (0 = background) unless ROOT has a ``labelmap.txt`` as CVAT and Datumaro write it
(``name:r,g,b:parts:actions`` a line, ``#`` comments; line order = class index, colours = the palette). Only the
split file is read here, and the existence of each label file checked; label PNGs are decoded when needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.errors import BadInput
from cvkit.vision.voc import image_ids, image_path, read_labelmap, segmentation_png, year_roots
from cvkit_segment.datasets.target import png_target
from cvkit_segment.palette import VOC_CLASSES, voc_colormap

__all__ = ["VocSegFormat", "read_labelmap", "year_roots"]


class VocSegFormat(DatasetFormat):
    name = "voc"
    description = "PASCAL VOC segmentation (ImageSets/Segmentation/, JPEGImages/, SegmentationClass/ palette PNGs)"

    def detect(self, path: Path) -> bool:
        return bool(year_roots(path, "Segmentation"))

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        roots = year_roots(path, "Segmentation")
        if not roots:
            raise BadInput(path, "not a VOC segmentation folder (expected ImageSets/Segmentation/ and "
                           "SegmentationClass/ in it or in VOC*/)")
        if len(roots) > 1:
            roots = [r for r in roots if (r / "ImageSets" / "Segmentation" / f"{split}.txt").is_file()] or roots
        labelmap = roots[0] / "labelmap.txt"
        if labelmap.is_file():
            classes, colours = read_labelmap(labelmap)
        else:
            classes, colours = list(VOC_CLASSES), [[int(v) for v in c] for c in voc_colormap(len(VOC_CLASSES))]
        sources, targets, files, skipped = [], [], [], 0
        for root in roots:
            f = root / "ImageSets" / "Segmentation" / f"{split}.txt"
            ids = image_ids(root, split, "Segmentation")
            files.append(f)
            for image_id in ids:
                label = segmentation_png(root, image_id, "class")
                if not label.is_file():
                    if options.get("skip_bad"):
                        skipped += 1
                        continue
                    raise BadInput(label, f"label image of {image_id!r} (listed in {f.name}) not found")
                sources.append(str(image_path(root, image_id)))
                targets.append(png_target(label))
                files.append(label)
        info = DatasetInfo(
            name="+".join(r.name for r in roots), format="voc", spec=f"voc:{path}", split=split, classes=classes,
            extra={"colours": colours},
        )
        return RawSplit(info, sources, targets, files, skipped)
