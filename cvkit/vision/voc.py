"""PASCAL VOC layouts (VOC2007 / VOC2012 and anything written the same way) read into an
:class:`~cvkit.vision.schema.AnnotationSet`: detection XML, classification lists, segmentation PNG paths.

A data path is a year folder (``VOCdevkit/VOC2007``) or a ``VOCdevkit`` folder holding year folders (those that have
the split are combined); several roots are joined with commas (``.../VOC2007,.../VOC2012``: 07+12 trainval).

Detection classes (:func:`load_voc`), in this order of precedence:

1. Per-class image sets (``ImageSets/Main/<class>_<split>.txt``, of any split) declare the classes: the 20 VOC
   classes in their canonical order when every listed class is one of them, else the listed classes sorted.
2. Without them, the 20 VOC classes when every name in the annotations is one of them, or when the only other names
   are near-misses of VOC names (``persn``, ``Person``, ``dining table``): those are then reported as typos.
3. Otherwise (a custom dataset without listing files) the sorted names found in the split's annotations.

An object name outside the class list (cases 1 and 2) is a :class:`~cvkit.errors.BadInput` naming the XML and
``object[k].name``. With ``skip_bad`` the whole image of a bad XML is left out instead, counted in ``skipped`` with
one warning line each. XML validation: :mod:`cvkit.vision.vocxml`.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from cvkit.console import warn
from cvkit.errors import BadInput
from cvkit.vision.masks import voc_colormap
from cvkit.vision.schema import AnnotationSet, ImageAnnotation, ObjectAnnotation
from cvkit.vision.vocxml import parse_annotation

__all__ = ["VOC_CLASSES", "class_list", "image_ids", "image_path", "listed_classes", "load_voc",
           "load_voc_classification", "parse_annotation", "read_labelmap", "segmentation_png", "year_roots"]

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)
VOC_SPLITS = ("train", "val", "trainval", "test")
SPLIT_ALIASES = {"valid": "val", "validation": "val"}
LISTED = "ImageSets/Main/<class>_<split>.txt"
LAYOUTS = {  # what makes a year folder, per layout
    "Main": ("Annotations", "ImageSets/Main"),
    "Segmentation": ("ImageSets/Segmentation", "SegmentationClass"),
    "SegmentationObject": ("ImageSets/Segmentation", "SegmentationObject"),
}


def _is_year_root(p: Path, layout: str) -> bool:
    return all((p / d).is_dir() for d in LAYOUTS[layout])


def year_roots(path: str | Path, layout: str = "Main") -> list[Path]:
    """The VOC year folders named by a (possibly comma-separated) data path; ``layout``: ``Main`` (detection and
    classification), ``Segmentation`` (class maps) or ``SegmentationObject`` (instance maps)."""
    roots: list[Path] = []
    for part in str(path).split(","):
        p = Path(part.strip())
        if _is_year_root(p, layout):
            roots.append(p)
        elif p.is_dir():
            roots.extend(sorted(c for c in p.iterdir() if c.is_dir() and _is_year_root(c, layout)))
    return roots


def _year(root: Path) -> int | None:
    m = re.search(r"(\d{4})", root.name)
    return int(m.group(1)) if m else None


def _exists(p: Path) -> bool:
    try:
        return p.exists()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL byte
        return False


def _read_lines(f: Path) -> list[str]:
    try:
        text = f.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f, f"not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise BadInput(f, f"cannot read: {exc.strerror or exc}") from None
    return text.splitlines()


def image_ids(root: str | Path, split: str, sets: str = "Main") -> list[str]:
    """Image ids listed by ``ImageSets/<sets>/<split>.txt`` (``sets``: ``Main`` or ``Segmentation``)."""
    folder = Path(root) / "ImageSets" / sets
    split = SPLIT_ALIASES.get(split, split)
    f = folder / f"{split}.txt"
    if not f.is_file():
        have = sorted(p.stem for p in folder.glob("*.txt") if "_" not in p.stem)
        raise BadInput(f, f"no split {split!r} (splits here: {', '.join(have) or 'none'})")
    return [line.split()[0] for line in _read_lines(f) if line.strip()]


def image_path(root: str | Path, image_id: str, filename: str = "") -> Path:
    """``JPEGImages/<id>.jpg``, else the XML's ``filename``, else another extension, else the ``.jpg`` path."""
    folder = Path(root) / "JPEGImages"
    jpg = folder / f"{image_id}.jpg"
    if _exists(jpg):
        return jpg
    if filename and _exists(folder / filename):
        return folder / filename
    others = sorted(folder.glob(f"{glob_escape(image_id)}.*")) if folder.is_dir() else []
    return others[0] if others else jpg


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def segmentation_png(root: str | Path, image_id: str, kind: str = "class") -> Path:
    """``SegmentationClass/<id>.png`` (``kind="class"``) or ``SegmentationObject/<id>.png`` (``"object"``)."""
    if kind not in ("class", "object"):
        raise ValueError(f"kind must be 'class' or 'object', not {kind!r}")
    return Path(root) / ("SegmentationClass" if kind == "class" else "SegmentationObject") / f"{image_id}.png"


def read_labelmap(f: str | Path) -> tuple[list[str], list[list[int]]]:
    """Class names and RGB colours of a CVAT/Datumaro ``labelmap.txt`` (``name:r,g,b:parts:actions`` a line, ``#``
    comments; line order = class index; missing colours: the VOC colour map)."""
    f = Path(f)
    cmap = voc_colormap()
    names: list[str] = []
    colours: list[list[int]] = []
    for lineno, line in enumerate(_read_lines(f), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        colour = rest.partition(":")[0].strip()
        if not name:
            raise BadInput(f, "empty class name", where=f"line {lineno}")
        if colour:
            try:
                rgb = [int(v) for v in colour.split(",")]
                if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
                    raise ValueError
            except ValueError:
                raise BadInput(f, f"colour {colour!r} is not r,g,b in 0..255", where=f"line {lineno}") from None
        else:
            rgb = [int(v) for v in cmap[len(names)]]
        names.append(name.strip())
        colours.append(rgb)
    if not names:
        raise BadInput(f, "no class in the label map")
    if len(names) > 255:
        raise BadInput(f, f"{len(names)} classes: a palette PNG holds at most 255 (255 is void)")
    return names, colours


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


def check_names(ann: dict, xml: Path, index: dict[str, int], declared: str) -> None:
    """BadInput (``object[k].name``, with a did-you-mean) for the first object whose class is not in ``index``."""
    for k, obj in enumerate(ann["objects"]):
        name = obj["name"]
        if name not in index:
            close = difflib.get_close_matches(name, list(index), n=1, cutoff=0.6) or [_near_voc(name)]
            hint = f"; did you mean {close[0]!r}?" if close[0] in index else ""
            shown = repr(name if len(name) <= 40 else name[:40] + "...")
            raise BadInput(xml, f"unknown class {shown}: not one of {declared}{hint}", where=f"object[{k}].name")


def _roots(path: str | Path, split: str, layout: str, sets: str) -> list[Path]:
    roots = year_roots(path, layout)
    if not roots:
        need = " and ".join(f"{d}/" for d in LAYOUTS[layout])
        raise BadInput(path, f"not a VOC folder (expected {need} in it or in VOC*/)")
    if len(roots) > 1 and "," not in str(path):  # a VOCdevkit folder: keep the years that have the split
        roots = [r for r in roots if (r / "ImageSets" / sets / f"{split}.txt").is_file()] or roots
    return roots


def _set_extra(roots: list[Path]) -> dict:
    years = [y for y in (_year(r) for r in roots) if y is not None]
    return {"year": min(years) if years else None, "years": years, "roots": [str(r) for r in roots]}


def load_voc(path: str | Path, split: str, skip_bad: bool = False, sets: str = "Main",
             classes: list[str] | None = None) -> AnnotationSet:
    """Read the detection annotations (``Annotations/<id>.xml``) of the images in ``ImageSets/<sets>/<split>.txt``.

    ``classes``: a fixed class list (e.g. from ``labelmap.txt``) whose other names are left out; default: the
    module docstring's rules, an unknown name being an error. Object ``id`` is its 1-based position in the XML (the
    value of its pixels in ``SegmentationObject``); ``difficult`` as written."""
    split = SPLIT_ALIASES.get(split, split)
    roots = _roots(path, split, "Main" if sets == "Main" else "SegmentationObject", sets)
    bad: list[BadInput] = []

    def skip(exc: BadInput) -> None:
        if not skip_bad:
            raise exc
        bad.append(exc)
        warn(f"skipped: {exc}")

    parsed, files = [], []
    for root in roots:
        files.append(root / "ImageSets" / sets / f"{split}.txt")
        for image_id in image_ids(root, split, sets):
            xml = root / "Annotations" / f"{image_id}.xml"
            files.append(xml)
            try:
                parsed.append((root, image_id, xml, parse_annotation(xml)))
            except BadInput as exc:
                skip(exc)
    fixed = classes is not None
    if classes is None:
        classes, declared = class_list(roots, {o["name"] for *_, a in parsed for o in a["objects"]})
    index = {c: i for i, c in enumerate(classes)}
    images = []
    for root, image_id, xml, ann in parsed:
        if not fixed:
            try:
                check_names(ann, xml, index, declared or "the classes found")
            except BadInput as exc:
                skip(exc)
                continue
        h, w = ann["size"]
        objects = [ObjectAnnotation(box=tuple(o["box"]), label=index[o["name"]], difficult=o["difficult"], id=k)
                   for k, o in enumerate(ann["objects"], 1) if o["name"] in index]
        images.append(ImageAnnotation(id=image_id, path=str(image_path(root, image_id, ann["filename"])), width=w,
                                      height=h, objects=objects, extra={"annotation": str(xml), "root": str(root)}))
    return AnnotationSet(name="+".join(r.name for r in roots), format="voc", split=split, images=images,
                         classes=list(classes), files=files, skipped=len(bad), extra=_set_extra(roots), bad=bad)


def load_voc_classification(path: str | Path, split: str) -> AnnotationSet:
    """Image-level labels from ``ImageSets/Main/<class>_<split>.txt`` (``<id> 1|-1|0``; 0 = only difficult objects)
    into ``ImageAnnotation.labels`` ({class: value}; a class whose list omits the image is left out). Images: those
    of ``<split>.txt``, else those the class lists name, in order. Classes: the 20 VOC classes when every listed
    class is one of them, else the listed classes sorted."""
    split = SPLIT_ALIASES.get(split, split)
    roots = _roots(path, split, "Main", "Main")
    images, files, classes = [], [], []
    for root in roots:
        main = root / "ImageSets" / "Main"
        found = {f.stem.rpartition("_")[0] for f in main.glob(f"*_{glob_escape(split)}.txt")} - {""}
        if not found:
            raise BadInput(main / f"<class>_{split}.txt", f"no per-class image lists for split {split!r}")
        names = list(VOC_CLASSES) if found <= set(VOC_CLASSES) else sorted(found)
        classes += [c for c in names if c not in classes]
        labels: dict[str, dict[str, int]] = {}
        for cls in names:
            if cls not in found:
                continue
            f = main / f"{cls}_{split}.txt"
            files.append(f)
            for lineno, line in enumerate(_read_lines(f), 1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) != 2 or parts[1] not in ("1", "-1", "0"):
                    raise BadInput(f, f"expected '<image id> 1|-1|0', got {line.strip()[:60]!r}",
                                   where=f"line {lineno}")
                labels.setdefault(parts[0], {})[cls] = int(parts[1])
        listed = main / f"{split}.txt"
        ids = image_ids(root, split) if listed.is_file() else list(labels)
        files += [listed] if listed.is_file() else []
        images += [ImageAnnotation(id=i, path=str(image_path(root, i)), labels=labels.get(i, {}),
                                   extra={"root": str(root)}) for i in ids]
    return AnnotationSet(name="+".join(r.name for r in roots), format="voc", split=split, images=images,
                         classes=classes, files=files, extra=_set_extra(roots))
