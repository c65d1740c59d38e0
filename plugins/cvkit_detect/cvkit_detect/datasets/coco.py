"""COCO instances JSON (``instances_<split>2017.json``).

``--data coco:ROOT`` with ``ROOT/annotations/instances_<split>2017.json`` and images in ``ROOT/<split>2017/``, or
``--data coco:FILE.json`` with images in ``--images DIR`` (option ``images``), else beside the file (or in its
``images/`` folder, or ``../<split>2017/``). Category ids (1..90 in COCO, with gaps) are mapped to contiguous indices
in id order and back (``DatasetInfo.extra["category_ids"][index]``). Crowd regions are kept with ``iscrowd`` (ignored
by the metrics, left out of training); images without annotations are kept. Only annotations are parsed here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def _images_dir(ann: Path, root: Path, split: str, options: dict[str, Any], first: str | None) -> Path:
    if options.get("images"):
        return Path(options["images"])
    candidates = [root / f"{split}2017", root / split] if root.is_dir() else []
    candidates += [ann.parent, ann.parent / "images", ann.parent.parent / f"{split}2017", ann.parent.parent / "images"]
    for c in candidates:
        if first is not None and (c / first).exists():
            return c
    return candidates[0]


def _field(obj: dict[str, Any], key: str, f: Path, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise BadInput(f, f"missing field {key!r}", where=where)
    return obj[key]


def read_json(f: Path) -> Any:
    try:
        with open(f, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise BadInput(f, "file not found") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f, f"malformed JSON: {exc.msg}", where=f"line {exc.lineno} column {exc.colno}") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f, f"not UTF-8 text: {exc.reason}") from None


def parse_instances(f: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    """Validate an instances JSON: ``(images, categories sorted by id, annotations by image id)``."""
    data = read_json(f)
    if not isinstance(data, dict):
        raise BadInput(f, "expected a JSON object with images, annotations and categories")
    images = _field(data, "images", f, "top level")
    cats = _field(data, "categories", f, "top level")
    anns = data.get("annotations", [])
    for i, im in enumerate(images):
        for key in ("id", "file_name"):
            _field(im, key, f, f"images[{i}]")
    for i, c in enumerate(cats):
        for key in ("id", "name"):
            _field(c, key, f, f"categories[{i}]")
    image_ids = {im["id"] for im in images}
    cat_ids = {c["id"] for c in cats}
    by_image: dict[int, list[dict[str, Any]]] = {}
    for i, a in enumerate(anns):
        where = f"annotations[{i}]"
        for key in ("image_id", "category_id", "bbox"):
            _field(a, key, f, where)
        bbox = a["bbox"]
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
            raise BadInput(f, f"bbox must be [x, y, w, h] numbers, got {bbox!r}", where=f"{where}.bbox")
        if a["image_id"] not in image_ids:
            raise BadInput(f, f"unknown image_id {a['image_id']!r}", where=f"{where}.image_id")
        if a["category_id"] not in cat_ids:
            raise BadInput(f, f"unknown category_id {a['category_id']!r}", where=f"{where}.category_id")
        by_image.setdefault(a["image_id"], []).append(a)
    return images, sorted(cats, key=lambda c: c["id"]), by_image


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
        images, cats, by_image = parse_instances(ann)
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
        return RawSplit(info, sources, targets, [ann])
