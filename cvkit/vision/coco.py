"""COCO annotation JSON (instances, person keypoints, captions) read into an
:class:`~cvkit.vision.schema.AnnotationSet`.

Paths: a COCO root (``annotations/<kind>_<split>2017.json`` + images in ``<split>2017/``) or the JSON file itself,
whose images are looked up in ``images`` (``--images DIR``), else beside the file (or in its ``images/`` folder, or
``../<split>2017/``). Category ids (1..90 in COCO, with gaps) are mapped to contiguous labels in id order and back
(``AnnotationSet.category_ids[label]``). Crowd regions are kept with ``iscrowd`` (ignored by the metrics, left out of
training); images without annotations are kept. COCO's numbers are kept as written (``bbox_xywh``, ``area``,
``keypoints``, ``segmentation``). Validation and ``skip_bad``: :mod:`cvkit.vision.cocoparse`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.console import warn
from cvkit.errors import BadInput
from cvkit.vision.cocoparse import KINDS, Parsed, number, parse_coco, read_json
from cvkit.vision.schema import AnnotationSet, ImageAnnotation, ObjectAnnotation

__all__ = ["KINDS", "coco_annotation_file", "images_dir", "is_coco", "load_coco", "read_json"]

SPLIT_ALIASES = {"valid": "val", "validation": "val"}
_MISSING = {"instances": "no COCO annotation file", "person_keypoints": "no COCO keypoints file",
            "captions": "no COCO captions file"}


def _patterns(kind: str, split: str) -> list[str]:
    if kind == "instances":
        return [f"instances_{split}2017.json", f"instances_{split}*.json", f"{split}.json", f"*{split}*.json"]
    alias = ["valid", "val"] if split == "val" else [split]
    return [f"{kind}_{a}2017.json" for a in alias] + [f"{kind}_{a}*.json" for a in alias]


def coco_annotation_file(root: str | Path, split: str, kind: str = "instances") -> Path:
    """The ``kind`` JSON (``instances``, ``person_keypoints``, ``captions``) for ``split`` under a COCO root, or
    ``root`` itself when it is a file. BadInput when there is none."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    path = Path(root)
    if path.is_file():
        return path
    if path.suffix == ".json" and not path.exists():
        raise BadInput(path, "file not found")
    split = SPLIT_ALIASES.get(split, split)
    ann = path / "annotations"
    for pattern in _patterns(kind, split):
        found = sorted(ann.glob(pattern)) if ann.is_dir() else []
        if found:
            return found[0]
    raise BadInput(ann / f"{kind}_{split}2017.json", f"{_MISSING[kind]} for split {split!r}")


def is_coco(path: str | Path, kind: str = "instances") -> bool:
    """Whether ``path`` looks like COCO data of ``kind``: a root with ``annotations/<kind>_*.json``, or a JSON file
    (for keypoints and captions, one whose name says so)."""
    path = Path(path)
    if path.is_file():
        if path.suffix != ".json":
            return False
        return kind == "instances" or {"person_keypoints": "keypoints", "captions": "caption"}[kind] in path.name
    ann = path / "annotations"
    return ann.is_dir() and any(ann.glob(f"{kind}_*.json"))


def _exists(p: Path) -> bool:
    try:
        return p.exists()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL byte
        return False


def images_dir(ann: Path, root: Path, split: str, images: str | Path | None = None, first: str | None = None) -> Path:
    """Where the images of annotation file ``ann`` are: ``images`` when given, else the first of ``root/<split>2017``,
    ``root/<split>``, the file's folder, its ``images/``, ``../<split>2017``, ``../images`` that holds ``first`` (the
    first image's file name), else the first candidate."""
    if images:
        return Path(images)
    root = Path(root)
    candidates = [root / f"{split}2017", root / split] if root.is_dir() else []
    candidates += [ann.parent, ann.parent / "images", ann.parent.parent / f"{split}2017", ann.parent.parent / "images"]
    for c in candidates:
        if first is not None and _exists(c / first):
            return c
    return candidates[0]


def _size(im: dict[str, Any], key: str) -> int:
    return int(number(im.get(key)) or 0)


def _object(a: dict[str, Any], label: int) -> ObjectAnnotation:
    x, y, w, h = a["bbox"]
    kp = a.get("keypoints")
    nkp = a.get("num_keypoints")
    if kp is not None and nkp is None:
        nkp = sum(1 for v in kp[2::3] if v > 0)
    return ObjectAnnotation(
        box=(float(x), float(y), float(x + w), float(y + h)), label=label, category_id=a["category_id"],
        iscrowd=bool(a.get("iscrowd", 0)),
        area=a.get("area", w * h), segmentation=a.get("segmentation") if _segm_like(a.get("segmentation")) else None,
        keypoints=list(kp) if kp is not None else None, id=a.get("id"), bbox_xywh=(x, y, w, h), num_keypoints=nkp,
    )


def _segm_like(segm: Any) -> bool:
    return isinstance(segm, (list, dict))


def _to_set(parsed: Parsed, ann: Path, path: Path, split: str, kind: str, images: str | Path | None) -> AnnotationSet:
    cats = parsed.categories
    if kind == "person_keypoints" and parsed.keypoints is not None:
        cats = [c for c in cats if c["id"] == parsed.keypoints.category_id]
    index = {c["id"]: i for i, c in enumerate(cats)}
    first = parsed.images[0]["file_name"] if parsed.images else None
    folder = images_dir(ann, path, split, images, first)
    out = []
    for im in parsed.images:
        anns = parsed.by_image.get(im["id"], [])
        record = ImageAnnotation(id=im["id"], path=str(folder / im["file_name"]), width=_size(im, "width"),
                                 height=_size(im, "height"), extra={"file_name": im["file_name"]})
        if kind == "captions":
            record.captions = [a["caption"] for a in anns]
            record.extra["caption_ids"] = [a.get("id") for a in anns]
        else:
            record.objects = [_object(a, index[a["category_id"]]) for a in anns if a["category_id"] in index]
        out.append(record)
    extra: dict[str, Any] = {k: v for k, v in parsed.data.items() if k in ("info", "licenses")}
    if parsed.keypoints is not None:
        kp = parsed.keypoints
        extra.update(keypoint_names=kp.names, skeleton=kp.skeleton, keypoint_category_id=kp.category_id,
                     keypoint_category_name=kp.name)
    return AnnotationSet(name=ann.stem, format="coco", split=split, images=out, classes=[c["name"] for c in cats],
                         category_ids=[c["id"] for c in cats], files=[ann], skipped=len(parsed.bad), extra=extra,
                         bad=list(parsed.bad))


def load_coco(path: str | Path, split: str, kind: str = "instances", images: str | Path | None = None,
              skip_bad: bool = False, masks: bool = False) -> AnnotationSet:
    """Read and validate the ``kind`` annotations of ``split`` (see :func:`coco_annotation_file` for ``path``).

    ``images``: the images folder (default: the usual places). ``skip_bad``: leave bad entries out, count them in
    ``skipped`` and warn once for the file. ``masks``: every object must carry a polygon or RLE segmentation.
    For ``person_keypoints`` the objects and classes are those of the keypoint category, and ``extra`` holds
    ``keypoint_names``, ``skeleton`` (0-based pairs, None when the file has none) and ``keypoint_category_id``."""
    split = SPLIT_ALIASES.get(split, split)
    ann = coco_annotation_file(path, split, kind)
    parsed = parse_coco(ann, kind, skip_bad=skip_bad, masks=masks)
    if parsed.bad:
        n, first = len(parsed.bad), parsed.bad[0]
        warn(f"skipped: {ann}: {n} bad {'entry' if n == 1 else 'entries'} (first: {first.where}: {first.reason})")
    return _to_set(parsed, ann, Path(path), split, kind, images)
