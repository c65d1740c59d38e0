"""PASCAL VOC object masks: ``voc:ROOT`` (a ``VOC2012`` year folder or a ``VOCdevkit``) with
``ImageSets/Segmentation/<split>.txt``, ``Annotations/<id>.xml``, ``JPEGImages/`` and ``SegmentationObject/<id>.png``.

The value ``k`` of a ``SegmentationObject`` pixel marks the ``k``-th object of the XML (the devkit's convention),
255 the void border, which counts neither as object nor as background when scoring. Read by
:func:`cvkit.vision.voc.load_voc` (``sets="Segmentation"``); difficult objects are left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.errors import BadInput
from cvkit.vision.voc import load_voc, segmentation_png, year_roots
from cvkit_promptseg.datasets.target import CLASSES, from_image


class VocPromptFormat(DatasetFormat):
    name = "voc"
    description = "PASCAL VOC object masks: ImageSets/Segmentation/, SegmentationObject/ PNGs + Annotations/ XML"

    def detect(self, path: Path) -> bool:
        try:
            return bool(year_roots(path, "SegmentationObject"))
        except (BadInput, OSError, ValueError):
            return False

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        ann = load_voc(path, split, skip_bad=bool(options.get("skip_bad")), sets="Segmentation")
        sources, targets, files, skipped = [], [], list(ann.files), ann.skipped
        for im in ann.images:
            png = segmentation_png(im.extra["root"], str(im.id), "object")
            if not png.is_file():
                exc = BadInput(png, f"object label image of {im.id!r} not found")
                if not options.get("skip_bad"):
                    raise exc
                skipped += 1
                continue
            sources.append(im.path)
            targets.append(from_image(im, str(png)))
            files.append(png)
        info = DatasetInfo(name=ann.name, format="voc", spec=f"voc:{path}", split=ann.split, classes=list(CLASSES),
                           extra={"object_classes": list(ann.classes)})
        return RawSplit(info, sources, targets, files, skipped)
