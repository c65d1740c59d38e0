"""MPII Human Pose: the JSON conversion everyone trains on, with head boxes from the MATLAB files, or the original
release alone.

Layout (``--data mpii:ROOT``): images in ``ROOT/images/``, annotations in ``ROOT/annot/`` (HRNet:
``train.json``, ``valid.json``, ``gt_valid.mat``) or ``ROOT/annotations/`` (mmpose: ``mpii_train.json``,
``mpii_val.json``, ``mpii_gt_val.mat``); the original ``mpii_human_pose_v1_u12_1.mat`` may sit in any of these
folders or in ``ROOT/mpii_human_pose_v1_u12_2/``.

- JSON: a list of people ``{"image", "center": [x, y], "scale", "joints": [[x, y]] * 16, "joints_vis": [0|1] * 16}``
  (``[-1, -1]`` and ``joints_vis`` 0: not labelled), grouped here by image.
- Head boxes (PCKh): from ``gt_valid.mat`` for the validation split (aligned by person order, the count must
  match), else from the original release (the person of the same image whose ``objpos`` is nearest the JSON
  centre). Without head boxes PCKh cannot be computed: the split is scored with OKS AP instead (warned).
- The original release alone: ``img_train == 1`` people with joints; the release has no validation split, so
  ``val`` is every tenth annotated training image (the 10th, 20th, ...) and ``train`` the others. The public
  test images have no joints.

Coordinates: the files are 1-based (MATLAB). HRNet's adjustment is applied: 1 is subtracted from joints, centres
and head boxes, so targets are 0-based like the predictions; the crop centre moves down ``15 * scale`` and the crop
side is ``200 * 1.25 * scale`` px. (mmpose keeps the joints 1-based; its PCKh adds nothing, so its numbers carry a
one-pixel bias that ours and the MATLAB code do not.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.console import warn
from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.errors import BadInput, CvkitError
from cvkit_pose.datasets.mpii_mat import RELEASE_NAME, read_head_boxes, read_release
from cvkit_pose.skeleton import MPII_JOINTS, extra_for
from cvkit_pose.target import box_crop, joint_box, make_target, mpii_crop

ANNOT_DIRS = ("annot", "annotations")
NUM_JOINTS = 16
VAL_EVERY = 10


def _json_names(split: str) -> list[str]:
    alias = {"val": ["valid", "val"], "train": ["train"], "test": ["test"]}.get(split, [split])
    return [f"{a}.json" for a in alias] + [f"mpii_{a}.json" for a in alias]


def _gt_names(split: str) -> list[str]:
    alias = {"val": ["valid", "val"]}.get(split, [split])
    return [f"gt_{a}.mat" for a in alias] + [f"mpii_gt_{a}.mat" for a in alias]


def _find(root: Path, names: list[str], dirs: tuple[str, ...] = ANNOT_DIRS) -> Path | None:
    for d in dirs:
        for n in names:
            if (root / d / n).is_file():
                return root / d / n
    return None


def find_release(root: Path) -> Path | None:
    return _find(root, [RELEASE_NAME], (*ANNOT_DIRS, ".", "mpii_human_pose_v1_u12_2"))


class MpiiFormat(DatasetFormat):
    name = "mpii"
    description = "MPII Human Pose: annot/*.json (HRNet) or annotations/mpii_*.json (mmpose), or the original .mat"

    def detect(self, path: Path) -> bool:
        path = Path(path)
        if not path.is_dir():
            return False
        return find_release(path) is not None or any(
            _find(path, _json_names(s)) is not None for s in ("train", "val"))

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        root = Path(path)
        f = _find(root, _json_names(split))
        release = find_release(root)
        if f is None and release is None:
            raise BadInput(root / "annot" / _json_names(split)[0],
                           f"no MPII annotations for split {split!r} (looked for annot/ and annotations/ "
                           f"{', '.join(_json_names(split))} and {RELEASE_NAME})")
        skipped = 0
        if f is not None:
            people, skipped = read_json(f, split, bool(options.get("skip_bad")))
        else:
            people = release_people(release, split)
        files = [p for p in (f, release) if p is not None]
        if f is not None:
            gt = _find(root, _gt_names(split))
            if gt is not None:
                heads = read_head_boxes(gt, len(people))
                for p, h in zip(people, heads, strict=True):
                    p["head"] = tuple(h)
                files.append(gt)
            elif release is not None:
                attach_release_heads(people, read_release(release))
        raw = to_split(root, split, people, files, f or release)
        raw.skipped = skipped
        return raw


def _list_of_numbers(value: Any, shape: tuple[int, ...], f: Path, where: str) -> np.ndarray:
    try:
        arr = np.asarray(value, np.float64)
    except (TypeError, ValueError):
        raise BadInput(f, "expected numbers", where=where) from None
    if arr.shape != shape:
        raise BadInput(f, f"expected shape {list(shape)}, got {list(arr.shape)}", where=where)
    return arr


def read_json(f: Path, split: str, skip_bad: bool = False) -> tuple[list[dict[str, Any]], int]:
    """People of an HRNet/mmpose MPII JSON, still 1-based: ``{"image", "center", "scale", "joints", "vis"}``, and
    the number of malformed entries skipped (``skip_bad``; otherwise the first one raises BadInput)."""
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadInput(f, f"malformed JSON: {exc.msg}", where=f"line {exc.lineno} column {exc.colno}") from None
    except UnicodeDecodeError:
        raise BadInput(f, "not UTF-8 text") from None
    if not isinstance(data, list):
        raise BadInput(f, "expected a list of people")
    people, skipped = [], 0
    for i, a in enumerate(data):
        try:
            people.append(_json_person(a, f, f"[{i}]", split))
        except BadInput as exc:
            if not skip_bad:
                raise
            warn(f"skipped: {exc}")
            skipped += 1
    return people, skipped


def _json_person(a: Any, f: Path, w: str, split: str) -> dict[str, Any]:
    if not isinstance(a, dict):
        raise BadInput(f, "expected an object", where=w)
    for key in ("image", "center", "scale"):
        if key not in a:
            raise BadInput(f, f"missing field {key!r}", where=w)
    if not isinstance(a["image"], str) or not a["image"]:
        raise BadInput(f, "expected a file name", where=f"{w}.image")
    center = _list_of_numbers(a["center"], (2,), f, f"{w}.center")
    scale = _list_of_numbers(a["scale"], (), f, f"{w}.scale")
    if "joints" in a or split != "test":
        if "joints" not in a or "joints_vis" not in a:
            raise BadInput(f, "missing field 'joints'" if "joints" not in a else "missing field 'joints_vis'",
                           where=w)
        joints = _list_of_numbers(a["joints"], (NUM_JOINTS, 2), f, f"{w}.joints")
        vis = _list_of_numbers(a["joints_vis"], (NUM_JOINTS,), f, f"{w}.joints_vis")
    else:
        joints, vis = np.full((NUM_JOINTS, 2), -1.0), np.zeros(NUM_JOINTS)
    return {"image": a["image"], "center": center, "scale": float(scale), "joints": joints,
            "vis": (vis > 0).astype(np.int64), "head": None}


def release_people(path: Path, split: str) -> list[dict[str, Any]]:
    """People of the original release for ``split`` (see the module docstring), in the JSON people's shape."""
    if split == "test":
        raise CvkitError(f"{path}: the public MPII release has no joints for its test images")
    if split not in ("train", "val"):
        raise CvkitError(f"{path}: no split {split!r} in the MPII release (train, val)")
    people = []
    annotated = [im for im in read_release(path) if im["train"] and any(p["joints"] for p in im["people"])]
    for k, im in enumerate(annotated):
        if (k % VAL_EVERY == VAL_EVERY - 1) != (split == "val"):
            continue
        for p in im["people"]:
            if not p["joints"]:
                continue
            joints, vis = np.full((NUM_JOINTS, 2), -1.0), np.zeros(NUM_JOINTS, np.int64)
            for jid, (x, y) in p["joints"].items():
                joints[jid], vis[jid] = (x, y), 1
            has_pos = p["objpos"] is not None and p["scale"] is not None
            people.append({"image": im["name"], "center": np.array(p["objpos"] if has_pos else (-1.0, -1.0)),
                           "scale": float(p["scale"]) if has_pos else -1.0, "joints": joints, "vis": vis,
                           "head": p["head"]})
    return people


def attach_release_heads(people: list[dict[str, Any]], images: list[dict[str, Any]]) -> None:
    """Give each JSON person the head box of the release's person of the same image with the nearest ``objpos``
    (within half a person height)."""
    rects: dict[str, list[dict[str, Any]]] = {}
    for im in images:
        rects.setdefault(im["name"], []).extend(p for p in im["people"] if p["head"] and p["objpos"])
    for p in people:
        cands = rects.get(p["image"], [])
        if not cands:
            continue
        d = [np.hypot(*(np.asarray(c["objpos"]) - p["center"])) for c in cands]
        best = int(np.argmin(d))
        if d[best] <= 100 * max(p["scale"], 0.1):
            p["head"] = cands[best]["head"]


def to_split(root: Path, split: str, people: list[dict[str, Any]], files: list[Path], source: Path) -> RawSplit:
    """Group people by image, apply HRNet's adjustment (0-based, centre shift, enlargement), build the targets."""
    by_image: dict[str, list[dict[str, Any]]] = {}
    for p in people:
        by_image.setdefault(p["image"], []).append(p)
    sources, targets, image_ids = [], [], {}
    heads_missing = 0
    for pos, (name, group) in enumerate(by_image.items()):
        stem = Path(name).stem
        image_id = int(stem) if stem.isdigit() else pos + 1
        image_ids[name] = image_id
        kp = np.stack([g["joints"] - 1 for g in group])
        vis = np.stack([g["vis"] for g in group])
        kp[vis == 0] = -1.0
        boxes = np.stack([joint_box(k, v, (0, 0)) for k, v in zip(kp, vis, strict=True)])
        crops = []
        for g, b in zip(group, boxes, strict=True):
            if g["scale"] > 0 and g["center"][0] != -1:
                crops.append(mpii_crop(g["center"] - 1, g["scale"]))
            else:  # no centre/scale: a crop around the labelled joints
                crops.append(box_crop(b))
        heads = np.array([np.asarray(g["head"], np.float64) - 1 if g["head"] is not None else [np.nan] * 4
                          for g in group])
        heads_missing += int(np.isnan(heads).any(1).sum())
        targets.append(make_target(kp, vis, (0, 0), boxes=boxes, crops=np.stack(crops), head_boxes=heads,
                                   image_id=image_id))
        sources.append(str(root / "images" / name))
    metric = "pckh"
    if people and heads_missing == len(people):
        metric = "oks"
        if split != "train":
            warn(f"{source}: no head boxes for split {split!r} (gt_{'valid' if split == 'val' else split}.mat or "
                 f"{RELEASE_NAME} not found): PCKh cannot be computed; scoring with OKS AP on joint boxes")
    info = DatasetInfo("mpii", "mpii", f"mpii:{root}", split, list(MPII_JOINTS),
                       extra_for(MPII_JOINTS, metric=metric, category_id=1, image_ids=image_ids))
    return RawSplit(info, sources, targets, files)
