"""PASCAL VOC detection layout (VOC2007 / VOC2012 and anything written the same way).

``--data voc:ROOT`` where ROOT is a year folder (``VOCdevkit/VOC2007``: ``Annotations/``, ``ImageSets/Main/``,
``JPEGImages/``) or a ``VOCdevkit`` folder holding year folders (all that have the split are combined). Several
roots are combined with commas: ``voc:/data/VOCdevkit/VOC2007,/data/VOCdevkit/VOC2012`` (07+12 trainval).

Boxes: the XML's 1-based inclusive ``xmin..xmax`` become the 0-based pixel-edge box ``[xmin-1, ymin-1, xmax, ymax]``
(see :mod:`cvkit_detect.datasets.target`); float coordinates are accepted; missing ``pose``/``truncated``/
``difficult`` default to 0. Images are ``JPEGImages/<id>.jpg`` (the XML ``filename`` when only that one exists).

Classes, in this order of precedence:

1. Per-class image sets (``ImageSets/Main/<class>_<split>.txt``, of any split) declare the classes: the 20 VOC
   classes in their canonical order when every listed class is one of them, else the listed classes sorted.
2. Without them, the 20 VOC classes when every name in the annotations is one of them, or when the only other names
   are near-misses of VOC names (``persn``, ``Person``, ``dining table``): those are then reported as typos.
3. Otherwise (a custom dataset without listing files) the sorted names found in the split's annotations. Add
   ``ImageSets/Main/<class>_<split>.txt`` files to fix the class list and have misspelt names reported.

Bad input: a malformed XML, a missing or non-finite number, ``xmax < xmin`` (or ``ymax < ymin``), a box lying
entirely outside its image (when ``<size>`` gives one), or an object name outside the class list (cases 1 and 2)
raises :class:`~cvkit.errors.BadInput` naming the XML and the field (``object[2].bndbox.xmax``,
``object[0].name``). With ``options["skip_bad"]`` the whole image of a bad XML is left out instead, counted in
``RawSplit.skipped`` and reported in one warning line per file. Boxes that are only partly outside the image are
kept exactly as written (the VOC devkit and pycocotools evaluate them as given); training transforms clip them to
the image and drop those left thinner than 2 px.
"""

from __future__ import annotations

import difflib
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from cvkit.console import warn
from cvkit.errors import BadInput
from cvkit.task import DatasetFormat, DatasetInfo, RawSplit
from cvkit_detect.datasets.target import make_target

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)
VOC_SPLITS = ("train", "val", "trainval", "test")
SPLIT_ALIASES = {"valid": "val", "validation": "val"}
LISTED = "ImageSets/Main/<class>_<split>.txt"


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


def _shown(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _g(v: float) -> str:
    return f"{v:g}"


def _exists(p: Path) -> bool:
    try:
        return p.exists()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL byte
        return False


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
        value = float(text)
    except ValueError:
        raise BadInput(xml, f"<{tag}> is not a number: {_shown(text)}", where=f"{where}.{tag}") from None
    if not math.isfinite(value):
        raise BadInput(xml, f"<{tag}> is not a finite number: {_shown(text)}", where=f"{where}.{tag}")
    return value


def _read_xml(xml: Path) -> ET.Element:
    try:
        return ET.parse(xml).getroot()
    except FileNotFoundError:
        raise BadInput(xml, "annotation file not found") from None
    except ET.ParseError as exc:
        line, col = exc.position
        reason = re.sub(r": line \d+, column \d+$", "", str(exc))
        raise BadInput(xml, f"malformed XML: {reason}", where=f"line {line}, column {col}") from None
    except (OSError, ValueError, LookupError) as exc:  # unreadable, NUL in the name, unknown declared encoding
        raise BadInput(xml, f"cannot read the XML: {getattr(exc, 'strerror', None) or exc}") from None


def _object(obj: ET.Element, xml: Path, where: str, size: tuple[int, int]) -> dict[str, Any]:
    name = _text(obj, "name", xml, where)
    bb = obj.find("bndbox")
    if bb is None:
        raise BadInput(xml, "missing <bndbox>", where=where)
    x1, y1, x2, y2 = (_number(bb, t, xml, f"{where}.bndbox") for t in ("xmin", "ymin", "xmax", "ymax"))
    shown = ", ".join(_g(v) for v in (x1, y1, x2, y2))
    if x2 < x1 or y2 < y1:
        raise BadInput(xml, f"xmax/ymax smaller than xmin/ymin ({shown})", where=f"{where}.bndbox")
    h, w = size
    if h > 0 and w > 0 and (x1 - 1 >= w or y1 - 1 >= h or x2 <= 0 or y2 <= 0):
        raise BadInput(xml, f"box ({shown}) lies entirely outside the {w}x{h} image", where=f"{where}.bndbox")
    difficult = _number(obj, "difficult", xml, where, "0") != 0
    return {"name": name, "box": [x1 - 1.0, y1 - 1.0, x2, y2], "difficult": difficult}


def parse_annotation(xml: Path) -> dict[str, Any]:
    """Parse one VOC XML file: ``{"filename", "size": (h, w), "objects": [{"name", "box", "difficult"}]}``.

    ``size`` is ``(0, 0)`` when the XML has no ``<size>``. Raises BadInput naming the file and the field."""
    root = _read_xml(xml)
    if root.tag != "annotation":
        raise BadInput(xml, f"root element is <{root.tag}>, expected <annotation>")
    size = root.find("size")
    h = w = 0
    if size is not None:
        w, h = (_number(size, t, xml, "size", "0") for t in ("width", "height"))
        if w < 0 or h < 0:
            raise BadInput(xml, f"negative image size {_g(w)}x{_g(h)}", where="size")
        w, h = int(w), int(h)
    objects = [_object(obj, xml, f"object[{i}]", (h, w)) for i, obj in enumerate(root.findall("object"))]
    return {"filename": _text(root, "filename", xml, "annotation", ""), "size": (h, w), "objects": objects}


def _split_ids(root: Path, split: str) -> list[str]:
    f = root / "ImageSets" / "Main" / f"{split}.txt"
    if not f.is_file():
        have = sorted(p.stem for p in (root / "ImageSets" / "Main").glob("*.txt") if "_" not in p.stem)
        raise BadInput(f, f"no split {split!r} (splits here: {', '.join(have) or 'none'})")
    try:
        text = f.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f, f"not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise BadInput(f, f"cannot read: {exc.strerror or exc}") from None
    return [line.split()[0] for line in text.splitlines() if line.strip()]


def listed_classes(roots: list[Path]) -> set[str]:
    """Class names declared by per-class image sets ``ImageSets/Main/<class>_<split>.txt`` (any split)."""
    listed: set[str] = set()
    for root in roots:
        main = root / "ImageSets" / "Main"
        splits = {p.stem for p in main.glob("*.txt")} | set(VOC_SPLITS)
        for f in main.glob("*_*.txt"):
            cls, _, split = f.stem.rpartition("_")
            if cls and split in splits:
                listed.add(cls)
    return listed


def _near_voc(name: str) -> str | None:
    """The VOC class ``name`` looks like a misspelling of, if any."""
    match = difflib.get_close_matches(name.lower(), VOC_CLASSES, n=1, cutoff=0.8)
    return match[0] if match else None


def class_list(roots: list[Path], names: set[str]) -> tuple[list[str], str | None]:
    """``(classes, what declares them)``; the second is None when the classes are just the names found."""
    listed = listed_classes(roots)
    if listed:
        if listed <= set(VOC_CLASSES):
            return list(VOC_CLASSES), "the 20 VOC classes"
        return sorted(listed), f"the {len(listed)} classes listed by {LISTED}"
    extra = names - set(VOC_CLASSES)
    if not extra or (names & set(VOC_CLASSES) and all(_near_voc(n) for n in extra)):
        return list(VOC_CLASSES), "the 20 VOC classes"
    return sorted(names), None


def _check_names(ann: dict[str, Any], xml: Path, index: dict[str, int], declared: str) -> None:
    for k, obj in enumerate(ann["objects"]):
        name = obj["name"]
        if name not in index:
            close = difflib.get_close_matches(name, list(index), n=1, cutoff=0.6) or [_near_voc(name)]
            hint = f"; did you mean {close[0]!r}?" if close[0] in index else ""
            raise BadInput(xml, f"unknown class {_shown(name)}: not one of {declared}{hint}",
                           where=f"object[{k}].name")


class VocFormat(DatasetFormat):
    name = "voc"
    description = "PASCAL VOC 2007/2012 layout (Annotations/, ImageSets/Main/, JPEGImages/); roots joined by commas"

    def detect(self, path: Path) -> bool:
        return bool(year_roots(path))

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        split = SPLIT_ALIASES.get(split, split)
        skip_bad = bool(options.get("skip_bad"))
        roots = year_roots(path)
        if not roots:
            raise BadInput(path, "not a VOC folder (expected Annotations/ and ImageSets/Main/ in it or in VOC*/)")
        if len(roots) > 1 and "," not in str(path):  # a VOCdevkit folder: keep the years that have the split
            roots = [r for r in roots if (r / "ImageSets" / "Main" / f"{split}.txt").is_file()] or roots
        skipped = 0

        def bad(exc: BadInput) -> None:
            nonlocal skipped
            if not skip_bad:
                raise exc
            skipped += 1
            warn(f"skipped: {exc}")

        parsed: list[tuple[Path, str, Path, dict[str, Any]]] = []
        files: list[Path] = []
        for root in roots:
            files.append(root / "ImageSets" / "Main" / f"{split}.txt")
            for image_id in _split_ids(root, split):
                xml = root / "Annotations" / f"{image_id}.xml"
                files.append(xml)
                try:
                    parsed.append((root, image_id, xml, parse_annotation(xml)))
                except BadInput as exc:
                    bad(exc)
        classes, declared = class_list(roots, {o["name"] for *_, a in parsed for o in a["objects"]})
        index = {c: i for i, c in enumerate(classes)}
        sources, targets = [], []
        for root, image_id, xml, ann in parsed:
            try:
                _check_names(ann, xml, index, declared or "the classes found")
            except BadInput as exc:
                bad(exc)
                continue
            image = root / "JPEGImages" / f"{image_id}.jpg"
            if ann["filename"] and not _exists(image) and _exists(root / "JPEGImages" / ann["filename"]):
                image = root / "JPEGImages" / ann["filename"]
            objs = ann["objects"]
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
        return RawSplit(info, sources, targets, files, skipped=skipped)
