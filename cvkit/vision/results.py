"""COCO results files (a JSON list), read and validated with every number kept exactly as written, and written
atomically.

Entry kinds, as pycocotools' ``loadRes`` tells them apart: box ``{image_id, category_id, bbox: [x, y, w, h], score}``,
mask ``{image_id, category_id, segmentation: RLE, score}``, keypoints ``{image_id, category_id, keypoints: [x, y, v]
* K, score}``, caption ``{image_id, caption}``. An entry may carry several of bbox, segmentation and keypoints.
Bad entries are :class:`~cvkit.errors.BadInput` naming the file and the entry (``[12]``, ``[12].bbox``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cvkit.errors import BadInput
from cvkit.io.atomic import atomic_write
from cvkit.vision.cocoparse import number, read_json, shown

KINDS = ("bbox", "segm", "keypoints", "captions")


def is_results_file(path: str | Path) -> bool:
    """Whether ``path`` is a file whose JSON starts with a list (a COCO results file, not a JSONL of records)."""
    path = Path(path)
    try:
        if not path.is_file():
            return False
        with open(path, "rb") as fh:
            head = fh.read(64).lstrip()
    except OSError:
        return False
    return head.lstrip(b"\xef\xbb\xbf").startswith(b"[")


def _is_id(v: Any, kinds: tuple[type, ...] = (int, str)) -> bool:
    return type(v) in kinds


def _rle_problem(segm: Any) -> str | None:
    if not isinstance(segm, dict) or "size" not in segm or "counts" not in segm:
        return f"segmentation must be an RLE {{size, counts}}, got {shown(segm)}"
    size = segm["size"]
    if type(size) is not list or len(size) != 2 or not all(type(v) is int and 0 <= v for v in size):
        return f"segmentation size must be [height, width], got {shown(size)}"
    counts = segm["counts"]
    if isinstance(counts, str) or (type(counts) is list and all(type(v) is int and v >= 0 for v in counts)):
        return None
    return f"segmentation counts must be a string or a list of counts, got {shown(counts)}"


def entry_problem(r: Any) -> tuple[str, str] | None:
    """``(reason, field)`` of the first problem of one results entry, or None."""
    if not isinstance(r, dict):
        return f"bad result: expected an object, got {shown(r)}", ""
    if "image_id" not in r:
        return "bad result: missing field 'image_id'", ""
    if not _is_id(r["image_id"]):
        return f"bad result: image_id must be an integer or a string, got {shown(r['image_id'])}", ".image_id"
    if "caption" in r:
        ok = isinstance(r["caption"], str)
        return None if ok else (f"bad result: caption must be a string, got {shown(r['caption'])}", ".caption")
    for key in ("category_id", "score"):
        if key not in r:
            return f"bad result: missing field {key!r}", ""
    if not _is_id(r["category_id"], (int,)):
        return f"bad result: category_id must be an integer, got {shown(r['category_id'])}", ".category_id"
    if number(r["score"]) is None:
        return f"bad result: score must be a finite number, got {shown(r['score'])}", ".score"
    if not any(k in r for k in ("bbox", "segmentation", "keypoints")):
        return "bad result: needs a bbox, a segmentation or keypoints", ""
    if "bbox" in r:
        b = r["bbox"]
        nums = [number(v) for v in b] if type(b) is list and len(b) == 4 else [None]
        if None in nums:
            return f"bad result: bbox must be [x, y, w, h] finite numbers, got {shown(b)}", ".bbox"
        if nums[2] < 0 or nums[3] < 0:
            return f"bad result: bbox width and height must be >= 0, got {shown(b)}", ".bbox"
    if "segmentation" in r and (problem := _rle_problem(r["segmentation"])):
        return f"bad result: {problem}", ".segmentation"
    if "keypoints" in r:
        kp = r["keypoints"]
        nums = [number(v) for v in kp] if type(kp) is list else [None]
        if None in nums or not nums or len(nums) % 3:
            return f"bad keypoint result: keypoints must be [x, y, v] * K finite numbers, got {shown(kp)}", \
                ".keypoints"
    return None


def read_coco_results(path: str | Path) -> list[dict[str, Any]]:
    """The entries of a COCO results file, validated, as parsed (numbers exactly as written)."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, list):
        raise BadInput(path, f"expected a JSON list of COCO results, got a {type(data).__name__}", where="top level")
    for j, r in enumerate(data):
        problem = entry_problem(r)
        if problem is not None:
            raise BadInput(path, problem[0], where=f"[{j}]{problem[1]}")
    return data


def results_kind(entries: list[dict[str, Any]]) -> str | None:
    """The kind pycocotools' ``loadRes`` gives a results list (decided by its first entry): ``captions``, ``bbox``,
    ``segm`` or ``keypoints``; None for an empty list."""
    if not entries:
        return None
    first = entries[0]
    if "caption" in first:
        return "captions"
    if first.get("bbox"):
        return "bbox"
    return "segm" if "segmentation" in first else "keypoints"


def group_by_image(entries: Iterable[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    """Entries by ``image_id``, in file order."""
    out: dict[Any, list[dict[str, Any]]] = {}
    for r in entries:
        out.setdefault(r["image_id"], []).append(r)
    return out


def write_coco_results(path: str | Path, entries: Iterable[dict[str, Any]]) -> None:
    """Write ``entries`` as a COCO results list, atomically. ValueError for a NaN or infinite number (JSON has
    none) or an entry :func:`read_coco_results` would refuse."""
    entries = list(entries)
    for j, r in enumerate(entries):
        problem = entry_problem(r)
        if problem is not None:
            raise ValueError(f"results entry [{j}]{problem[1]}: {problem[0]}")
    text = json.dumps(entries, allow_nan=False, separators=(",", ":"))
    with atomic_write(path, "w") as fh:
        fh.write(text)
