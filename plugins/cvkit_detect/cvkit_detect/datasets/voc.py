"""PASCAL VOC detection layout (VOC2007 / VOC2012 and anything written the same way).

``--data voc:ROOT`` where ROOT is a year folder (``VOCdevkit/VOC2007``: ``Annotations/``, ``ImageSets/Main/``,
``JPEGImages/``) or a ``VOCdevkit`` folder holding year folders (all that have the split are combined). Several
roots are combined with commas: ``voc:/data/VOCdevkit/VOC2007,/data/VOCdevkit/VOC2012`` (07+12 trainval).

Boxes: the XML's 1-based inclusive ``xmin..xmax`` become the 0-based pixel-edge box ``[xmin-1, ymin-1, xmax, ymax]``
(see :mod:`cvkit_detect.datasets.target`); float coordinates are accepted; missing ``pose``/``truncated``/
``difficult`` default to 0. Images are ``JPEGImages/<id>.jpg`` (the XML ``filename`` when only that one exists).

Classes: the 20 VOC classes in their canonical order when every name of the split is one of them; otherwise the
classes named by the per-class image sets (``ImageSets/Main/<class>_<split>.txt``), else the sorted names found.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from cvkit.errors import BadInput
from cvkit.task import DatasetFormat, DatasetInfo, RawSplit
from cvkit_detect.datasets.target import make_target

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)
SPLIT_ALIASES = {"valid": "val", "validation": "val"}


def _is_year_root(p: Path) -> bool:
    return (p / "Annotations").is_dir() and (p / "ImageSets" / "Main").is_dir()


def year_roots(path: Path | str) -> list[Path]:
    """The VOC year folders named by a (possibly comma-separated) data path."""
    roots: list[Path] = []
    for part in str(path).split(","):
        p = Path(part.strip())
        if _is_year_root(p):
            roots.append(p)
        elif p.is_dir():
            roots.extend(sorted(c for c in p.iterdir() if c.is_dir() and _is_year_root(c)))
    return roots


def _year(root: Path) -> int | None:
    m = re.search(r"(\d{4})", root.name)
    return int(m.group(1)) if m else None


def _text(node: ET.Element, tag: str, xml: Path, where: str, default: str | None = None) -> str:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        if default is not None:
            return default
        raise BadInput(xml, f"missing <{tag}>", where=where)
    return child.text.strip()


def _number(node: ET.Element, tag: str, xml: Path, where: str, default: str | None = None) -> float:
    text = _text(node, tag, xml, where, default)
    try:
        return float(text)
    except ValueError:
        raise BadInput(xml, f"<{tag}> is not a number: {text!r}", where=where) from None


def parse_annotation(xml: Path) -> dict[str, Any]:
    """Parse one VOC XML file: ``{"filename", "size": (h, w), "objects": [{"name", "box", "difficult"}]}``."""
    try:
        root = ET.parse(xml).getroot()
    except FileNotFoundError:
        raise BadInput(xml, "annotation file not found") from None
    except ET.ParseError as exc:
        raise BadInput(xml, f"malformed XML: {exc}", where=f"line {exc.position[0]}") from None
    if root.tag != "annotation":
        raise BadInput(xml, f"root element is <{root.tag}>, expected <annotation>")
    size = root.find("size")
    h = w = 0
    if size is not None:
        w = int(_number(size, "width", xml, "size", "0"))
        h = int(_number(size, "height", xml, "size", "0"))
    objects = []
    for i, obj in enumerate(root.findall("object")):
        where = f"object[{i}]"
        name = _text(obj, "name", xml, where)
        bb = obj.find("bndbox")
        if bb is None:
            raise BadInput(xml, "missing <bndbox>", where=where)
        x1, y1, x2, y2 = (_number(bb, t, xml, f"{where}.bndbox") for t in ("xmin", "ymin", "xmax", "ymax"))
        if x2 < x1 or y2 < y1:
            raise BadInput(xml, f"xmax/ymax smaller than xmin/ymin ({x1}, {y1}, {x2}, {y2})", where=f"{where}.bndbox")
        difficult = int(_number(obj, "difficult", xml, where, "0")) != 0
        objects.append({"name": name, "box": [x1 - 1.0, y1 - 1.0, x2, y2], "difficult": difficult})
    return {"filename": _text(root, "filename", xml, "annotation", ""), "size": (h, w), "objects": objects}


def _split_ids(root: Path, split: str) -> list[str]:
    f = root / "ImageSets" / "Main" / f"{split}.txt"
    if not f.is_file():
        have = sorted(p.stem for p in (root / "ImageSets" / "Main").glob("*.txt") if "_" not in p.stem)
        raise BadInput(f, f"no split {split!r} (splits here: {', '.join(have) or 'none'})")
    return [line.split()[0] for line in f.read_text().splitlines() if line.strip()]


def _class_list(roots: list[Path], split: str, names: set[str]) -> list[str]:
    if names <= set(VOC_CLASSES):
        return list(VOC_CLASSES)
    listed: set[str] = set()
    for root in roots:
        for f in (root / "ImageSets" / "Main").glob(f"*_{split}.txt"):
            listed.add(f.name[: -len(f"_{split}.txt")])
    return sorted(listed) if names <= listed else sorted(names)


class VocFormat(DatasetFormat):
    name = "voc"
    description = "PASCAL VOC 2007/2012 layout (Annotations/, ImageSets/Main/, JPEGImages/); roots joined by commas"

    def detect(self, path: Path) -> bool:
        return bool(year_roots(path))

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        split = SPLIT_ALIASES.get(split, split)
        roots = year_roots(path)
        if not roots:
            raise BadInput(path, "not a VOC folder (expected Annotations/ and ImageSets/Main/ in it or in VOC*/)")
        if len(roots) > 1 and "," not in str(path):  # a VOCdevkit folder: keep the years that have the split
            roots = [r for r in roots if (r / "ImageSets" / "Main" / f"{split}.txt").is_file()] or roots
        parsed: list[tuple[Path, str, dict[str, Any]]] = []
        files: list[Path] = []
        for root in roots:
            files.append(root / "ImageSets" / "Main" / f"{split}.txt")
            for image_id in _split_ids(root, split):
                xml = root / "Annotations" / f"{image_id}.xml"
                parsed.append((root, image_id, parse_annotation(xml)))
                files.append(xml)
        names = {o["name"] for _, _, a in parsed for o in a["objects"]}
        classes = _class_list(roots, split, names)
        index = {c: i for i, c in enumerate(classes)}
        sources, targets = [], []
        for root, image_id, ann in parsed:
            image = root / "JPEGImages" / f"{image_id}.jpg"
            if ann["filename"] and not image.exists() and (root / "JPEGImages" / ann["filename"]).exists():
                image = root / "JPEGImages" / ann["filename"]
            objs = [o for o in ann["objects"] if o["name"] in index]
            sources.append(str(image))
            targets.append(make_target(
                [o["box"] for o in objs], [index[o["name"]] for o in objs], ann["size"],
                difficult=[o["difficult"] for o in objs], image_id=image_id,
            ))
        years = [y for y in (_year(r) for r in roots) if y is not None]
        info = DatasetInfo(
            name="+".join(r.name for r in roots), format="voc", spec=f"voc:{path}", split=split, classes=classes,
            extra={"year": min(years) if years else None, "years": years},
        )
        return RawSplit(info, sources, targets, files)
