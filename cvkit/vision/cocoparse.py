"""Validation of a COCO annotation JSON (instances, person keypoints, captions) before anything uses it.

Bad input: JSON that does not parse or lacks the ``images`` list (and ``categories``, except for captions) stops
loading with :class:`~cvkit.errors.BadInput` naming the file (and line). So does, by default, a bad entry, named by
its field (``annotations[12].bbox``): an image without an integer or string ``id`` or a ``file_name``, a duplicate
id, a declared ``width x height`` above the pixel limit (:mod:`cvkit.io.limits`), a category without an integer
``id`` or a ``name``, an annotation naming an unknown image or category, a ``bbox`` that is not four finite numbers,
with a negative width or height, or lying entirely outside its image (when the image's ``width`` and ``height`` are
given), ``keypoints`` that are not ``3 * K`` numbers with visibility 0, 1 or 2, a caption that is not a string, and
(when masks are required) a ``segmentation`` that is neither polygons nor RLE. With ``skip_bad`` each bad entry is
left out instead (an image entry with its annotations) and collected in ``Parsed.bad``. A file declaring more than
:data:`MAX_CATEGORIES` categories is refused up front. Zero-area boxes and boxes only partly outside the image are
kept exactly as given: pycocotools evaluates them so.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cvkit.errors import BadInput
from cvkit.io.limits import too_large

MAX_CATEGORIES = 100_000  # LVIS has 1,203, ImageNet-21k 21,841: more is a broken or hostile file
KINDS = ("instances", "person_keypoints", "captions")


def read_json(path: str | Path) -> Any:
    """Parse a JSON file; every failure is a :class:`BadInput` naming the file (and line and column)."""
    f = Path(path)
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


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def number(v: Any) -> float | None:
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


def segmentation_ok(segm: Any) -> bool:
    """A list of polygons or an RLE ``{size, counts}`` (the shapes COCO writes)."""
    return (isinstance(segm, list) and all(isinstance(p, list) for p in segm)) or \
        (isinstance(segm, dict) and "counts" in segm and "size" in segm)


@dataclass
class KeypointSpec:
    """The category that lists ``keypoints``: its id, name, keypoint names and 0-based skeleton (None: not given)."""

    category_id: int
    name: str
    names: list[str]
    skeleton: list[list[int]] | None


@dataclass
class Parsed:
    """A validated annotation JSON: images and categories (sorted by id) to keep, annotations by image id, and the
    bad entries left out under ``skip_bad`` (empty otherwise: the first one raises)."""

    images: list[dict[str, Any]]
    categories: list[dict[str, Any]]
    by_image: dict[Any, list[dict[str, Any]]]
    bad: list[BadInput] = field(default_factory=list)
    keypoints: KeypointSpec | None = None
    data: dict[str, Any] = field(default_factory=dict)  # the top-level fields other than the three lists


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
        return f"expected an object, got {shown(c)}"
    if "id" not in c or "name" not in c:
        return f"missing field {'id' if 'id' not in c else 'name'!r}"
    if not _is_id(c["id"], (int,)):
        return f"id must be an integer, got {shown(c['id'])}"
    if not isinstance(c["name"], str):
        return f"name must be a string, got {shown(c['name'])}"
    return None


def _image_problem(im: Any) -> str | None:
    if not isinstance(im, dict):
        return f"expected an object, got {shown(im)}"
    if "id" not in im or "file_name" not in im:
        return f"missing field {'id' if 'id' not in im else 'file_name'!r}"
    if not _is_id(im["id"]):
        return f"id must be an integer or a string, got {shown(im['id'])}"
    name = im["file_name"]
    if not isinstance(name, str) or not name or "\0" in name:
        return f"file_name must be a non-empty string, got {shown(name)}"
    for key in ("width", "height"):
        if key in im and (number(im[key]) is None or im[key] < 0):
            return f"{key} must be a number >= 0, got {shown(im[key])}"
    return too_large(number(im.get("width")) or 0.0, number(im.get("height")) or 0.0)


def _outside(x1: float, y1: float, x2: float, y2: float, w: float, h: float) -> bool:
    """True when the box covers no part of the ``w x h`` image (a zero-area box: when it does not touch it)."""
    if x2 > x1 and y2 > y1:
        return x1 >= w or y1 >= h or x2 <= 0 or y2 <= 0
    return x1 > w or y1 > h or x2 < 0 or y2 < 0


def _box_problem(a: dict[str, Any], size: tuple[float, float]) -> tuple[str, str] | None:
    bbox = a["bbox"]
    nums = [number(v) for v in bbox] if type(bbox) is list and len(bbox) == 4 else [None]
    if None in nums:
        return f"bbox must be [x, y, w, h] finite numbers, got {shown(bbox)}", ".bbox"
    x, y, w, h = nums
    if w < 0 or h < 0:
        return f"bbox width and height must be >= 0, got {shown(bbox)}", ".bbox"
    iw, ih = size
    if iw > 0 and ih > 0 and _outside(x, y, x + w, y + h, iw, ih):
        return f"bbox {shown(bbox)} lies entirely outside the {iw:g}x{ih:g} image {a['image_id']!r}", ".bbox"
    return None


def _keypoints_problem(a: dict[str, Any], k: int) -> tuple[str, str] | None:
    if "keypoints" not in a:
        return None
    kp = a["keypoints"]
    # what number() accepts, checked per list at C speed: ints and finite floats (json makes no subclasses; bools,
    # strings, None and lists are other types); an int too large for a float overflows
    try:
        numbers = type(kp) is list and set(map(type, kp)) <= {int, float} and all(map(math.isfinite, kp))
    except OverflowError:
        numbers = False
    if not numbers:
        return "expected a list of numbers", ".keypoints"
    if len(kp) != 3 * k:
        return f"expected {3 * k} numbers, got {len(kp)}", ".keypoints"
    if not set(kp[2::3]) <= {0, 1, 2}:
        return "visibility flags must be 0, 1 or 2", ".keypoints"
    if "num_keypoints" in a and not _is_id(a["num_keypoints"], (int,)):
        return f"num_keypoints must be an integer, got {shown(a['num_keypoints'])}", ".num_keypoints"
    return None


def _annotation_problem(a: Any, kind: str, sizes: dict[Any, tuple[float, float]], cat_ids: set[int],
                        kp: KeypointSpec | None) -> tuple[str, str] | None:
    """``(reason, field)`` of the first problem of annotation ``a``, or None. ``sizes``: (width, height) of each
    valid image by id, 0 where unknown."""
    if not isinstance(a, dict):
        return f"expected an object, got {shown(a)}", ""
    keys = ("image_id", "caption") if kind == "captions" else ("image_id", "category_id", "bbox")
    for key in keys:
        if key not in a:
            return f"missing field {key!r}", ""
    if not _is_id(a["image_id"]) or a["image_id"] not in sizes:
        return f"unknown image_id {shown(a['image_id'])}", ".image_id"
    if kind == "captions":
        return None if isinstance(a["caption"], str) else (f"caption must be a string, got {shown(a['caption'])}",
                                                           ".caption")
    if not _is_id(a["category_id"], (int,)) or a["category_id"] not in cat_ids:
        return f"unknown category_id {shown(a['category_id'])}", ".category_id"
    problem = _box_problem(a, sizes[a["image_id"]])
    if problem is not None:
        return problem
    if "area" in a and number(a["area"]) is None:
        return f"area must be a finite number, got {shown(a['area'])}", ".area"
    if "iscrowd" in a and a["iscrowd"] not in (0, 1):
        return f"iscrowd must be 0 or 1, got {shown(a['iscrowd'])}", ".iscrowd"
    if kp is not None and a["category_id"] == kp.category_id:
        return _keypoints_problem(a, len(kp.names))
    return None


def keypoint_spec(cats: list[dict[str, Any]], f: Path) -> KeypointSpec:
    """The first category (in file order) that lists ``keypoints`` (COCO's ``person``); its 1-based skeleton
    made 0-based."""
    for i, c in enumerate(cats):
        if c.get("keypoints"):
            if not isinstance(c["keypoints"], list):
                raise BadInput(f, "expected a list of keypoint names", where=f"categories[{i}].keypoints")
            names = [str(n) for n in c["keypoints"]]
            skel = c.get("skeleton")
            skeleton = None
            if skel is not None:
                try:
                    skeleton = [[int(a) - 1, int(b) - 1] for a, b in skel]
                except (TypeError, ValueError):
                    raise BadInput(f, "expected 1-based index pairs", where=f"categories[{i}].skeleton") from None
            return KeypointSpec(int(c["id"]), str(c.get("name", "person")), names, skeleton)
    raise BadInput(f, "no category lists 'keypoints' (is this a person_keypoints file?)", where="categories")


def _categories(check: _Checker, raw_cats: list[Any]) -> dict[int, dict[str, Any]]:
    if len(raw_cats) > MAX_CATEGORIES:
        raise BadInput(check.f, f"{len(raw_cats):,} categories: more than the {MAX_CATEGORIES:,} cvkit accepts",
                       where="categories")
    cats: dict[int, dict[str, Any]] = {}
    for i, c in enumerate(raw_cats):
        problem = _category_problem(c)
        if problem is None and c["id"] in cats:
            problem = f"duplicate category id {c['id']!r}"
        if problem is not None:
            check(problem, f"categories[{i}]")
        else:
            cats[c["id"]] = c
    return cats


def parse_coco(path: str | Path, kind: str = "instances", skip_bad: bool = False, masks: bool = False) -> Parsed:
    """Validate an annotation JSON of ``kind`` (see the module docstring for what counts as bad). ``masks``: every
    object must carry a polygon or RLE ``segmentation`` (instance segmentation)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    f = Path(path)
    data = read_json(f)
    if not isinstance(data, dict):
        raise BadInput(f, "expected a JSON object with images, annotations and categories", where="top level")
    check = _Checker(f, skip_bad)
    raw_images = check.top_list(data, "images")
    raw_cats = check.top_list(data, "categories", required=kind != "captions")
    raw_anns = check.top_list(data, "annotations", required=False)
    cats = _categories(check, raw_cats)
    kp = keypoint_spec(list(cats.values()), f) if kind == "person_keypoints" else None
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
    sizes = {k: (number(im.get("width")) or 0.0, number(im.get("height")) or 0.0) for k, im in images.items()}
    for i, a in enumerate(raw_anns):
        if isinstance(a, dict) and _is_id(a.get("image_id")) and a["image_id"] in dropped \
                and a["image_id"] not in images:
            check(f"belongs to image {a['image_id']!r}, whose entry is bad", f"annotations[{i}]")
            continue
        problem = _annotation_problem(a, kind, sizes, cat_ids, kp)
        if problem is not None:
            check(problem[0], f"annotations[{i}]{problem[1]}")
        elif masks and not segmentation_ok(a.get("segmentation")):
            check("segmentation must be a list of polygons or an RLE {size, counts}", f"annotation id {a.get('id', i)}")
        else:
            by_image.setdefault(a["image_id"], []).append(a)
    rest = {k: v for k, v in data.items() if k not in ("images", "annotations", "categories")}
    return Parsed(list(images.values()), [cats[k] for k in sorted(cats)], by_image, check.bad, kp, rest)
