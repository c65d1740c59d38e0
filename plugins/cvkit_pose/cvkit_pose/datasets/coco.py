"""COCO person keypoints (``person_keypoints_<split>2017.json``).

``--data coco:ROOT`` with ``ROOT/annotations/person_keypoints_<split>2017.json`` and images in
``ROOT/<split>2017/``, or ``--data coco:FILE.json`` with images in ``--images DIR``, else beside the file (or in
its ``images/`` folder, or ``../<split>2017/``). The keypoint category is the one that lists ``keypoints`` (COCO's
``person``, id 1); its ``keypoints`` names and ``skeleton`` (1-based pairs) define the keypoint set, so any count
works (OKS sigmas: COCO's for 17 keypoints, else a uniform default, see :mod:`cvkit_pose.skeleton`).

Annotations keep COCO's numbers untouched: ``keypoints`` ``[x, y, v] * K`` (0-based pixel indices, v 0 not
labelled / 1 labelled hidden / 2 visible), ``bbox``, ``area``, ``iscrowd``, ``num_keypoints``. Crowd regions and
people without labelled keypoints are kept for the metric (pycocotools ignores them) but never cropped or trained
on. Images without people are kept. Only annotations are parsed here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.errors import BadInput
from cvkit.task import DatasetFormat, DatasetInfo, RawSplit
from cvkit_pose.skeleton import default_skeleton, extra_for
from cvkit_pose.target import box_crop, make_target


def annotation_file(path: Path, split: str) -> Path:
    path = Path(path)
    if path.is_file():
        return path
    ann = path / "annotations"
    alias = ["valid", "val"] if split == "val" else [split]
    patterns = [f"person_keypoints_{a}2017.json" for a in alias] + [f"person_keypoints_{a}*.json" for a in alias]
    for pattern in patterns:
        found = sorted(ann.glob(pattern)) if ann.is_dir() else []
        if found:
            return found[0]
    raise BadInput(ann / f"person_keypoints_{split}2017.json", f"no COCO keypoints file for split {split!r}")


def _images_dir(ann: Path, root: Path, split: str, options: dict[str, Any], first: str | None) -> Path:
    if options.get("images"):
        return Path(options["images"])
    candidates = [root / f"{split}2017", root / split] if root.is_dir() else []
    candidates += [ann.parent, ann.parent / "images", ann.parent.parent / f"{split}2017", ann.parent.parent / "images"]
    for c in candidates:
        if first is None or (c / first).exists():
            return c
    return candidates[0]


def _get(obj: Any, key: str, f: Path, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise BadInput(f, f"missing field {key!r}", where=where)
    return obj[key]


def _numbers(value: Any, n: int | None, f: Path, where: str) -> np.ndarray:
    try:
        arr = np.asarray(value, np.float64).ravel()
    except (TypeError, ValueError):
        raise BadInput(f, "expected a list of numbers", where=where) from None
    if n is not None and arr.size != n:
        raise BadInput(f, f"expected {n} numbers, got {arr.size}", where=where)
    return arr


def keypoint_category(data: dict[str, Any], f: Path) -> tuple[int, str, list[str], list[list[int]]]:
    """The category that has keypoints: ``(id, name, keypoint names, 0-based skeleton)``."""
    cats = _get(data, "categories", f, "top level")
    for i, c in enumerate(cats if isinstance(cats, list) else []):
        if isinstance(c, dict) and c.get("keypoints"):
            names = [str(n) for n in c["keypoints"]]
            skel = c.get("skeleton")
            if skel is None:
                skeleton = default_skeleton(names)
            else:
                try:
                    skeleton = [[int(a) - 1, int(b) - 1] for a, b in skel]
                except (TypeError, ValueError):
                    raise BadInput(f, "expected 1-based index pairs", where=f"categories[{i}].skeleton") from None
            return int(_get(c, "id", f, f"categories[{i}]")), str(c.get("name", "person")), names, skeleton
    raise BadInput(f, "no category lists 'keypoints' (is this a person_keypoints file?)", where="categories")


class CocoFormat(DatasetFormat):
    name = "coco"
    description = "COCO person_keypoints JSON (annotations/person_keypoints_<split>2017.json + <split>2017/)"

    def detect(self, path: Path) -> bool:
        path = Path(path)
        if path.is_file():
            return path.suffix == ".json" and "keypoints" in path.name
        return (path / "annotations").is_dir() and any((path / "annotations").glob("person_keypoints_*.json"))

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        f = annotation_file(path, split)
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BadInput(f, "file not found") from None
        except json.JSONDecodeError as exc:
            raise BadInput(f, f"malformed JSON: {exc.msg}", where=f"line {exc.lineno} column {exc.colno}") from None
        if not isinstance(data, dict):
            raise BadInput(f, "expected a COCO object with images, annotations and categories")
        cat_id, cat_name, names, skeleton = keypoint_category(data, f)
        k = len(names)
        images = _get(data, "images", f, "top level")
        anns = _get(data, "annotations", f, "top level")
        per_image: dict[Any, list[tuple[int, dict[str, Any]]]] = {}
        for j, a in enumerate(anns):
            if _get(a, "category_id", f, f"annotations[{j}]") == cat_id:
                per_image.setdefault(_get(a, "image_id", f, f"annotations[{j}]"), []).append((j, a))
        root = Path(path)
        folder = _images_dir(f, root, split, options, images[0].get("file_name") if images else None)
        sources, targets, ids = [], [], {}
        skip = Skipper(bool(options.get("skip_bad")))
        for i, im in enumerate(images):
            w = f"images[{i}]"
            image_id = _get(im, "id", f, w)
            name = _get(im, "file_name", f, w)
            size = (int(_get(im, "height", f, w)), int(_get(im, "width", f, w)))
            targets.append(_target(per_image.pop(image_id, []), k, size, image_id, f, skip))
            sources.append(str(folder / name))
            ids[name] = image_id
        if per_image:
            raise BadInput(f, f"annotation for unknown image id {next(iter(per_image))!r}",
                           where=f"annotations[{next(iter(per_image.values()))[0][0]}].image_id")
        extra = extra_for(names, skeleton, metric="oks", category_id=cat_id, category_name=cat_name, image_ids=ids)
        name = f.stem
        return RawSplit(DatasetInfo(name, "coco", f"coco:{path}", split, names, extra), sources, targets, [f],
                        skip.count)


class Skipper:
    """``--skip-bad``: malformed annotations are skipped (and counted) instead of stopping the load."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.count = enabled, 0

    def skip(self, exc: BadInput) -> None:
        if not self.enabled:
            raise exc
        from cvkit.console import warn

        warn(f"skipped: {exc}")
        self.count += 1


def _person(a: dict[str, Any], k: int, f: Path, w: str) -> tuple[np.ndarray, np.ndarray, float, int, bool]:
    """One annotation: ``(keypoints (K, 3), bbox [x, y, w, h], area, num_keypoints, iscrowd)``."""
    kp = _numbers(a["keypoints"], 3 * k, f, f"{w}.keypoints") if "keypoints" in a else np.zeros(3 * k)
    kp = kp.reshape(k, 3)
    if not np.isin(kp[:, 2], (0, 1, 2)).all():
        raise BadInput(f, "visibility flags must be 0, 1 or 2", where=f"{w}.keypoints")
    b = _numbers(_get(a, "bbox", f, w), 4, f, f"{w}.bbox")
    area = float(a["area"]) if "area" in a else float(b[2] * b[3])
    nkp = int(a["num_keypoints"]) if "num_keypoints" in a else int((kp[:, 2] > 0).sum())
    return kp, b, area, nkp, bool(a.get("iscrowd", 0))


def _target(anns: list[tuple[int, dict[str, Any]]], k: int, size: tuple[int, int], image_id: Any, f: Path,
            skip: Skipper) -> dict[str, Any]:
    kps, bbox, area, crowd, nkp = [], [], [], [], []
    for j, a in anns:
        try:
            kp, b, ar, n, c = _person(a, k, f, f"annotations[{j}]")
        except BadInput as exc:
            skip.skip(exc)
            continue
        kps.append(kp)
        bbox.append(b)
        area.append(ar)
        nkp.append(n)
        crowd.append(c)
    kp_arr = np.array(kps, np.float64).reshape(-1, k, 3)
    bbox_arr = np.array(bbox, np.float64).reshape(-1, 4)
    boxes = np.concatenate([bbox_arr[:, :2], bbox_arr[:, :2] + bbox_arr[:, 2:]], 1)
    return make_target(kp_arr[..., :2], kp_arr[..., 2], size, boxes=boxes, bbox=bbox_arr,
                       crops=np.array([box_crop(b) for b in boxes]).reshape(-1, 3), area=area, iscrowd=crowd,
                       num_keypoints=nkp, image_id=image_id, num_joints=k)
