"""COCO instances JSON (``instances_<split>2017.json``).

``--data coco:ROOT`` with ``ROOT/annotations/instances_<split>2017.json`` and images in ``ROOT/<split>2017/``, or
``--data coco:FILE.json`` with images in ``--images DIR`` (option ``images``), else beside the file (or in its
``images/`` folder, or ``../<split>2017/``). Category ids (1..90 in COCO, with gaps) are mapped to contiguous indices
in id order and back (``DatasetInfo.extra["category_ids"][index]``). Crowd regions are kept with ``iscrowd`` (ignored
by the metrics, left out of training); images without annotations are kept. Only annotations are parsed here.

Bad input: JSON that does not parse or lacks the ``images``/``categories`` lists stops loading with
:class:`~cvkit.errors.BadInput` naming the file (and line). So does, by default, a bad entry, named by its field
(``annotations[12].bbox``): an image without an integer or string ``id`` or a ``file_name``, a duplicate id, a
category without an integer ``id`` or a ``name``, an annotation naming an unknown image or category, a ``bbox``
that is not four finite numbers, with a negative width or height, or lying entirely outside its image (when the
image's ``width`` and ``height`` are given). With ``options["skip_bad"]`` each bad entry is left out instead (an
image entry with its annotations), counted in ``RawSplit.skipped``, and the file gets one warning line.
Zero-area boxes and boxes only partly outside the image are kept exactly as given: pycocotools evaluates them
so; training transforms clip boxes to the image and drop those left thinner than 2 px.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cvkit.console import warn
from cvkit.errors import BadInput
from cvkit.task import DatasetFormat, DatasetInfo, RawSplit
from cvkit_detect.datasets.target import make_target

SPLIT_ALIASES = {"valid": "val", "validation": "val"}


def annotation_file(path: Path, split: str) -> Path:
    """The instances JSON for ``split`` under a COCO root, or ``path`` itself when it is a file."""
    path = Path(path)
    if path.is_file():
        return path
    ann = path / "annotations"
    for pattern in (f"instances_{split}2017.json", f"instances_{split}*.json", f"{split}.json", f"*{split}*.json"):
        found = sorted(ann.glob(pattern)) if ann.is_dir() else []
        if found:
            return found[0]
    raise BadInput(ann / f"instances_{split}2017.json", f"no COCO annotation file for split {split!r}")


def _exists(p: Path) -> bool:
    try:
        return p.exists()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL byte
        return False


def _images_dir(ann: Path, root: Path, split: str, options: dict[str, Any], first: str | None) -> Path:
    if options.get("images"):
        return Path(options["images"])
    candidates = [root / f"{split}2017", root / split] if root.is_dir() else []
    candidates += [ann.parent, ann.parent / "images", ann.parent.parent / f"{split}2017", ann.parent.parent / "images"]
    for c in candidates:
        if first is not None and _exists(c / first):
            return c
    return candidates[0]


def read_json(f: Path) -> Any:
    try:
        with open(f, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise BadInput(f, "file not found") from None
    except json.JSONDecodeError as exc:  # "Unterminated string starting at" (line, column) -> "... starting here"
        reason = exc.msg[: -len(" at")] + " here" if exc.msg.endswith(" at") else exc.msg
        raise BadInput(f, f"malformed JSON: {reason}", where=f"line {exc.lineno}, column {exc.colno}") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f, f"not UTF-8 text: {exc.reason}") from None
    except RecursionError:
        raise BadInput(f, "malformed JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal longer than Python's digit limit
        raise BadInput(f, f"malformed JSON: {str(exc)[:80]}") from None
    except OSError as exc:
        raise BadInput(f, f"cannot read: {exc.strerror or exc}") from None


def _shown(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _number(v: Any) -> float | None:
    """``v`` as a finite float, or None when it is not a finite JSON number (booleans are not numbers)."""
    if type(v) is float:  # json gives exactly dict, list, str, int, float, bool or None: no subclasses
        return v if math.isfinite(v) else None
    if type(v) is int:
        try:
            return float(v)
        except OverflowError:
            return None
    return None


def _is_id(v: Any, kinds: tuple[type, ...] = (int, str)) -> bool:
    return type(v) in kinds


@dataclass
class Instances:
    """A validated instances JSON: images and categories (sorted by id) to keep, annotations by image id, and
    the bad entries left out under ``skip_bad`` (empty otherwise: the first one raises)."""

    images: list[dict[str, Any]]
    categories: list[dict[str, Any]]
    by_image: dict[Any, list[dict[str, Any]]]
    bad: list[BadInput] = field(default_factory=list)


class _Checker:
    """Raises the first bad entry, or collects them all under ``skip_bad``."""

    def __init__(self, f: Path, skip_bad: bool) -> None:
        self.f, self.skip_bad, self.bad = f, skip_bad, []

    def __call__(self, reason: str, where: str) -> None:
        exc = BadInput(self.f, reason, where=where)
        if not self.skip_bad:
            raise exc
        self.bad.append(exc)

    def top_list(self, data: dict[str, Any], key: str, required: bool = True) -> list[Any]:
        if key not in data and not required:
            return []
        if key not in data:
            raise BadInput(self.f, f"missing field {key!r}", where="top level")
        if not isinstance(data[key], list):
            raise BadInput(self.f, f"{key!r} must be a list, got {type(data[key]).__name__}", where="top level")
        return data[key]


def _category_problem(c: Any) -> str | None:
    if not isinstance(c, dict):
        return f"expected an object, got {_shown(c)}"
    if "id" not in c or "name" not in c:
        return f"missing field {'id' if 'id' not in c else 'name'!r}"
    if not _is_id(c["id"], (int,)):
        return f"id must be an integer, got {_shown(c['id'])}"
    if not isinstance(c["name"], str):
        return f"name must be a string, got {_shown(c['name'])}"
    return None


def _image_problem(im: Any) -> str | None:
    if not isinstance(im, dict):
        return f"expected an object, got {_shown(im)}"
    if "id" not in im or "file_name" not in im:
        return f"missing field {'id' if 'id' not in im else 'file_name'!r}"
    if not _is_id(im["id"]):
        return f"id must be an integer or a string, got {_shown(im['id'])}"
    name = im["file_name"]
    if not isinstance(name, str) or not name or "\0" in name:
        return f"file_name must be a non-empty string, got {_shown(name)}"
    for key in ("width", "height"):
        if key in im and (_number(im[key]) is None or im[key] < 0):
            return f"{key} must be a number >= 0, got {_shown(im[key])}"
    return None


def _annotation_problem(a: Any, sizes: dict[Any, tuple[float, float]], cat_ids: set[int]) -> tuple[str, str] | None:
    """``(reason, field)`` of the first problem of annotation ``a``, or None. ``sizes``: (width, height) of each
    valid image by id, 0 where unknown."""
    if not isinstance(a, dict):
        return f"expected an object, got {_shown(a)}", ""
    for key in ("image_id", "category_id", "bbox"):
        if key not in a:
            return f"missing field {key!r}", ""
    if not _is_id(a["image_id"]) or a["image_id"] not in sizes:
        return f"unknown image_id {_shown(a['image_id'])}", ".image_id"
    if not _is_id(a["category_id"], (int,)) or a["category_id"] not in cat_ids:
        return f"unknown category_id {_shown(a['category_id'])}", ".category_id"
    bbox = a["bbox"]
    nums = [_number(v) for v in bbox] if type(bbox) is list and len(bbox) == 4 else [None]
    if None in nums:
        return f"bbox must be [x, y, w, h] finite numbers, got {_shown(bbox)}", ".bbox"
    x, y, w, h = nums
    if w < 0 or h < 0:
        return f"bbox width and height must be >= 0, got {_shown(bbox)}", ".bbox"
    iw, ih = sizes[a["image_id"]]
    if iw > 0 and ih > 0 and _outside(x, y, x + w, y + h, iw, ih):
        return f"bbox {_shown(bbox)} lies entirely outside the {iw:g}x{ih:g} image {a['image_id']!r}", ".bbox"
    if "area" in a and _number(a["area"]) is None:
        return f"area must be a finite number, got {_shown(a['area'])}", ".area"
    if "iscrowd" in a and a["iscrowd"] not in (0, 1):
        return f"iscrowd must be 0 or 1, got {_shown(a['iscrowd'])}", ".iscrowd"
    return None


def _outside(x1: float, y1: float, x2: float, y2: float, w: float, h: float) -> bool:
    """True when the box covers no part of the ``w x h`` image (a zero-area box: when it does not touch it)."""
    if x2 > x1 and y2 > y1:
        return x1 >= w or y1 >= h or x2 <= 0 or y2 <= 0
    return x1 > w or y1 > h or x2 < 0 or y2 < 0


def parse_instances(f: Path, skip_bad: bool = False) -> Instances:
    """Validate an instances JSON (see the module docstring for what counts as bad)."""
    data = read_json(f)
    if not isinstance(data, dict):
        raise BadInput(f, "expected a JSON object with images, annotations and categories", where="top level")
    check = _Checker(f, skip_bad)
    raw_images, raw_cats = check.top_list(data, "images"), check.top_list(data, "categories")
    raw_anns = check.top_list(data, "annotations", required=False)
    cats: dict[int, dict[str, Any]] = {}
    for i, c in enumerate(raw_cats):
        problem = _category_problem(c)
        if problem is None and c["id"] in cats:
            problem = f"duplicate category id {c['id']!r}"
        if problem is not None:
            check(problem, f"categories[{i}]")
        else:
            cats[c["id"]] = c
    images: dict[Any, dict[str, Any]] = {}
    dropped: set[Any] = set()  # ids of image entries left out: their annotations go too
    for i, im in enumerate(raw_images):
        problem = _image_problem(im)
        if problem is None and im["id"] in images:
            problem = f"duplicate image id {im['id']!r}"
        if problem is not None:
            check(problem, f"images[{i}]")
            if isinstance(im, dict) and _is_id(im.get("id")):
                dropped.add(im["id"])
        else:
            images[im["id"]] = im
    by_image: dict[Any, list[dict[str, Any]]] = {}
    cat_ids = set(cats)
    sizes = {k: (_number(im.get("width")) or 0.0, _number(im.get("height")) or 0.0) for k, im in images.items()}
    for i, a in enumerate(raw_anns):
        if isinstance(a, dict) and _is_id(a.get("image_id")) and a["image_id"] in dropped \
                and a["image_id"] not in images:
            check(f"belongs to image {a['image_id']!r}, whose entry is bad", f"annotations[{i}]")
            continue
        problem = _annotation_problem(a, sizes, cat_ids)
        if problem is not None:
            check(problem[0], f"annotations[{i}]{problem[1]}")
        else:
            by_image.setdefault(a["image_id"], []).append(a)
    return Instances(list(images.values()), [cats[k] for k in sorted(cats)], by_image, check.bad)


class CocoFormat(DatasetFormat):
    name = "coco"
    description = "COCO instances JSON: a root with annotations/instances_<split>2017.json, or the JSON file"

    def detect(self, path: Path) -> bool:
        path = Path(path)
        if path.is_file():
            return path.suffix == ".json"
        return (path / "annotations").is_dir() and any((path / "annotations").glob("instances_*.json"))

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        split = SPLIT_ALIASES.get(split, split)
        ann = annotation_file(Path(path), split)
        parsed = parse_instances(ann, bool(options.get("skip_bad")))
        if parsed.bad:
            n, first = len(parsed.bad), parsed.bad[0]
            warn(f"skipped: {ann}: {n} bad {'entry' if n == 1 else 'entries'} (first: {first.where}: {first.reason})")
        images, cats, by_image = parsed.images, parsed.categories, parsed.by_image
        index = {c["id"]: i for i, c in enumerate(cats)}
        img_dir = _images_dir(ann, Path(path), split, options, images[0]["file_name"] if images else None)
        sources, targets = [], []
        for im in images:
            anns = by_image.get(im["id"], [])
            boxes = [[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in anns)]
            area = [a.get("area", a["bbox"][2] * a["bbox"][3]) for a in anns]
            sources.append(str(img_dir / im["file_name"]))
            targets.append(make_target(
                boxes, [index[a["category_id"]] for a in anns], (im.get("height", 0), im.get("width", 0)),
                iscrowd=[bool(a.get("iscrowd", 0)) for a in anns], area=area, image_id=im["id"],
            ))
        info = DatasetInfo(
            name=ann.stem, format="coco", spec=f"coco:{path}", split=split, classes=[c["name"] for c in cats],
            extra={
                "category_ids": [c["id"] for c in cats],
                "image_ids": {Path(im["file_name"]).name: im["id"] for im in images},
            },
        )
        return RawSplit(info, sources, targets, [ann], skipped=len(parsed.bad))
