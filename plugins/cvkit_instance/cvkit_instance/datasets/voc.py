"""PASCAL VOC instance segmentation: ``SegmentationObject`` palette PNGs with the objects of ``Annotations``.

``--data voc:ROOT`` where ROOT is a year folder (``VOCdevkit/VOC2012``) with ``ImageSets/Segmentation/<split>.txt``,
``JPEGImages/``, ``Annotations/<id>.xml`` and ``SegmentationObject/<id>.png``, or a ``VOCdevkit`` folder (its years
that have the split). In a ``SegmentationObject`` PNG the pixel value ``k`` marks the ``k``-th object of the image's
XML annotation (the devkit's convention), 0 the background and 255 void borders (ignored). Classes, boxes and the
``difficult`` flag come from the XML (parsed by the detection plugin); difficult objects are ignored by the metrics
and left out of training, like crowd regions. The 20 VOC classes (no background) unless ``labelmap.txt`` names others
(its ``background`` line, if any, is skipped).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.errors import BadInput
from cvkit.task import DatasetFormat, DatasetInfo, RawSplit
from cvkit_detect.datasets.voc import VOC_CLASSES, parse_annotation
from cvkit_instance.datasets.target import make_instance_target

SPLIT_ALIASES = {"valid": "val", "validation": "val"}


def _is_year_root(p: Path) -> bool:
    return (p / "ImageSets" / "Segmentation").is_dir() and (p / "SegmentationObject").is_dir()


def year_roots(path: Path) -> list[Path]:
    path = Path(path)
    if _is_year_root(path):
        return [path]
    return sorted(c for c in path.iterdir() if c.is_dir() and _is_year_root(c)) if path.is_dir() else []


def _classes(root: Path) -> list[str]:
    f = root / "labelmap.txt"
    if not f.is_file():
        return list(VOC_CLASSES)
    names = [line.split(":")[0].strip() for line in f.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    names = [n for n in names if n and n != "background"]
    if not names:
        raise BadInput(f, "no class in the label map")
    return names


class VocInstanceFormat(DatasetFormat):
    name = "voc"
    description = "PASCAL VOC instances: ImageSets/Segmentation/, SegmentationObject/ PNGs + Annotations/ XML"

    def detect(self, path: Path) -> bool:
        return bool(year_roots(path))

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        split = SPLIT_ALIASES.get(split, split)
        roots = year_roots(path)
        if not roots:
            raise BadInput(path, "not a VOC instance folder (expected ImageSets/Segmentation/ and "
                           "SegmentationObject/ in it or in VOC*/)")
        if len(roots) > 1:
            roots = [r for r in roots if (r / "ImageSets" / "Segmentation" / f"{split}.txt").is_file()] or roots
        classes = _classes(roots[0])
        index = {c: i for i, c in enumerate(classes)}
        sources, targets, files, skipped = [], [], [], 0
        for root in roots:
            f = root / "ImageSets" / "Segmentation" / f"{split}.txt"
            if not f.is_file():
                raise BadInput(f, f"no split {split!r}")
            files.append(f)
            for image_id in (line.split()[0] for line in f.read_text().splitlines() if line.strip()):
                xml, png = root / "Annotations" / f"{image_id}.xml", root / "SegmentationObject" / f"{image_id}.png"
                try:
                    if not png.is_file():
                        raise BadInput(png, f"object label image of {image_id!r} (listed in {f.name}) not found")
                    ann = parse_annotation(xml)
                except BadInput:
                    if options.get("skip_bad"):
                        skipped += 1
                        continue
                    raise
                objs = [(k, o) for k, o in enumerate(ann["objects"], 1) if o["name"] in index]
                sources.append(str(root / "JPEGImages" / f"{image_id}.jpg"))
                targets.append(make_instance_target(
                    [o["box"] for _, o in objs], [index[o["name"]] for _, o in objs], ann["size"],
                    [{"png": str(png), "value": k} for k, _ in objs], difficult=[o["difficult"] for _, o in objs],
                    image_id=image_id, file=png,
                ))
                files += [xml, png]
        info = DatasetInfo(name="+".join(r.name for r in roots), format="voc", spec=f"voc:{path}", split=split,
                           classes=classes, extra={})
        return RawSplit(info, sources, targets, files, skipped)
