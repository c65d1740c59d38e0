"""PASCAL VOC instance segmentation: ``SegmentationObject`` palette PNGs with the objects of ``Annotations``.

``--data voc:ROOT`` where ROOT is a year folder (``VOCdevkit/VOC2012``) with ``ImageSets/Segmentation/<split>.txt``,
``JPEGImages/``, ``Annotations/<id>.xml`` and ``SegmentationObject/<id>.png``, or a ``VOCdevkit`` folder (its years
that have the split). In a ``SegmentationObject`` PNG the pixel value ``k`` marks the ``k``-th object of the image's
XML annotation (the devkit's convention), 0 the background and 255 void borders (ignored). Classes, boxes and the
``difficult`` flag come from the XML (parsed by :mod:`cvkit.vision.voc`); difficult objects are ignored by the metrics
and left out of training, like crowd regions. The 20 VOC classes (no background) unless ``labelmap.txt`` names others
(its ``background`` line, if any, is skipped).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.console import warn
from cvkit.contract import DatasetFormat, RawSplit
from cvkit.errors import BadInput
from cvkit.vision.detections import target_of
from cvkit.vision.splits import raw_split
from cvkit.vision.voc import VOC_CLASSES, load_voc, read_labelmap, segmentation_png, year_roots


def _classes(root: Path) -> list[str]:
    f = root / "labelmap.txt"
    if not f.is_file():
        return list(VOC_CLASSES)
    names = [n for n in read_labelmap(f)[0] if n != "background"]
    if not names:
        raise BadInput(f, "no class in the label map")
    return names


class VocInstanceFormat(DatasetFormat):
    name = "voc"
    description = "PASCAL VOC instances: ImageSets/Segmentation/, SegmentationObject/ PNGs + Annotations/ XML"

    def detect(self, path: Path) -> bool:
        return bool(year_roots(path, "SegmentationObject"))

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        roots = year_roots(path, "SegmentationObject")
        classes = _classes(roots[0]) if roots else list(VOC_CLASSES)
        skip_bad = bool(options.get("skip_bad"))
        aset = load_voc(path, split, skip_bad=skip_bad, sets="Segmentation", classes=classes)
        images, targets, files = [], [], list(aset.files)
        for im in aset.images:
            png = segmentation_png(im.extra["root"], str(im.id), "object")
            if not png.is_file():
                exc = BadInput(png, f"object label image of {im.id!r} (listed in {split}.txt) not found")
                if not skip_bad:
                    raise exc
                warn(f"skipped: {exc}")
                aset.skipped += 1
                continue
            t = target_of(im)
            t["segmentation"] = [{"png": str(png), "value": int(o.id)} for o in im.objects]
            t["file"] = str(png)
            images.append(im)
            targets.append(t)
            files.append(png)
        aset.images, aset.files = images, files
        return raw_split(aset, path, targets, classes=classes)
