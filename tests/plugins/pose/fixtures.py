"""Real-format pose fixtures written from scratch (not with the plugin's own writers): MPII JSON (HRNet and mmpose
layouts), gt_valid.mat, the original release .mat in MATLAB's struct layout, COCO person keypoints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from scipy.io import savemat

MAT_NAMES = ["rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor", "neck", "head", "rwri", "relb", "rsho",
             "lsho", "lelb", "lwri"]


def image(path: Path, h: int = 48, w: int = 64, value: int = 90) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((h, w, 3), value, np.uint8)
    cv2.circle(img, (w // 2, h // 2), min(h, w) // 4, (250, 20, 20), -1)
    cv2.imwrite(str(path), img)


def mpii_person(name: str, rng: np.random.Generator, missing: tuple[int, ...] = ()) -> dict[str, Any]:
    """An HRNet-JSON person (1-based numbers) with ``missing`` joints unlabelled ([-1, -1], vis 0)."""
    joints = rng.uniform(10, 200, (16, 2)).round(1)
    vis = np.ones(16, int)
    for j in missing:
        joints[j] = -1
        vis[j] = 0
    return {"image": name, "center": rng.uniform(50, 150, 2).round(1).tolist(), "scale": float(rng.uniform(0.8, 2)),
            "joints": joints.tolist(), "joints_vis": vis.tolist()}


def write_gt_valid(path: Path, people: list[dict[str, Any]], heads: np.ndarray) -> None:
    """HRNet's gt_valid.mat: dataset_joints 1x16 cell, jnt_missing 16xN, pos_gt_src 16x2xN, headboxes_src 2x2xN."""
    names = np.empty((1, 16), dtype=object)
    names[0, :] = MAT_NAMES
    joints = np.array([p["joints"] for p in people], np.float64)  # N x 16 x 2
    vis = np.array([p["joints_vis"] for p in people])
    hb = np.zeros((2, 2, len(people)))
    hb[0] = np.asarray(heads)[:, :2].T
    hb[1] = np.asarray(heads)[:, 2:].T
    savemat(str(path), {"dataset_joints": names, "jnt_missing": (1 - vis).T.astype(float),
                        "pos_gt_src": joints.transpose(1, 2, 0), "headboxes_src": hb})


def _struct(records: list[dict[str, Any]], fields: list[str]) -> np.ndarray:
    """A MATLAB 1xN struct array; absent values are [] as in real files."""
    arr = np.zeros((1, len(records)), dtype=[(f, object) for f in fields])
    for i, r in enumerate(records):
        for f in fields:
            arr[0, i][f] = r.get(f, np.zeros((0, 0)))
    return arr


def _num(v: float) -> np.ndarray:
    return np.array([[v]], np.float64)


def write_release(path: Path, images: list[dict[str, Any]]) -> None:
    """``mpii_human_pose_v1_u12_1.mat``. ``images``: ``{"name", "train", "people": [{"head": (x1, y1, x2, y2) or
    None, "objpos": (x, y), "scale", "joints": {id: (x, y, is_visible)}}]}`` (1-based). ``is_visible`` may be an
    int, a string or None (stored as ``[]``), as in the real file."""
    annolist = []
    for im in images:
        rects = []
        for p in im["people"]:
            r: dict[str, Any] = {"scale": _num(p["scale"]),
                                 "objpos": {"x": _num(p["objpos"][0]), "y": _num(p["objpos"][1])}}
            if p.get("head") is not None:
                r.update({k: _num(v) for k, v in zip(("x1", "y1", "x2", "y2"), p["head"], strict=True)})
            if p.get("joints"):
                points = []
                for jid, (x, y, v) in p["joints"].items():
                    vis = np.zeros((0, 0)) if v is None else (np.array([v]) if isinstance(v, str) else _num(v))
                    points.append({"x": _num(x), "y": _num(y), "id": _num(jid), "is_visible": vis})
                r["annopoints"] = {"point": _struct(points, ["x", "y", "id", "is_visible"])}
            rects.append(r)
        fields = ["x1", "y1", "x2", "y2", "annopoints", "scale", "objpos"] if im["train"] else ["scale", "objpos"]
        annolist.append({"image": {"name": im["name"]}, "annorect": _struct(rects, fields) if rects else
                         np.zeros((0, 0)), "frame_sec": np.zeros((0, 0)), "vididx": np.zeros((0, 0))})
    n = len(images)
    single = np.empty((n, 1), dtype=object)
    single[:, 0] = [np.array([[1.0]])] * n
    act = _struct([{"act_name": "", "cat_name": "", "act_id": _num(-1)}] * n, ["act_name", "cat_name", "act_id"]).T
    release = {"annolist": _struct(annolist, ["image", "annorect", "frame_sec", "vididx"]),
               "img_train": np.array([[float(im["train"]) for im in images]]), "version": "12",
               "single_person": single, "act": act, "video_list": np.empty((1, 0), dtype=object)}
    savemat(str(path), {"RELEASE": release})


def coco_keypoints(path: Path, images: list[dict[str, Any]], anns: list[dict[str, Any]],
                   names: list[str] | None = None, skeleton: list[list[int]] | None = None) -> None:
    from cvkit_pose.skeleton import COCO_KEYPOINTS

    names = names or list(COCO_KEYPOINTS)
    cat = {"id": 1, "name": "person", "supercategory": "person", "keypoints": names,
           "skeleton": skeleton if skeleton is not None else [[16, 14], [14, 12]]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"info": {}, "licenses": [], "images": images, "annotations": anns,
                                "categories": [cat]}))


def random_coco(rng: np.random.Generator, n_images: int, k: int = 17) -> tuple[list[dict], list[dict], list[dict]]:
    """Random COCO keypoint ground truth (crowd regions and people without keypoints included) and results near
    it (with misses, duplicates and false positives)."""
    images, anns, results = [], [], []
    for i in range(n_images):
        image_id = 100 + 3 * i
        h, w = int(rng.integers(200, 480)), int(rng.integers(200, 640))
        images.append({"id": image_id, "file_name": f"{image_id:012d}.jpg", "height": h, "width": w})
        for _ in range(int(rng.integers(0, 5))):
            bw, bh = rng.uniform(20, w / 2), rng.uniform(30, h / 2)
            x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            kp = np.stack([rng.uniform(x, x + bw, k), rng.uniform(y, y + bh, k), rng.integers(0, 3, k)], 1)
            if rng.random() < 0.1:
                kp[:, 2] = 0
            kp[kp[:, 2] == 0, :2] = 0
            crowd = int(rng.random() < 0.1)
            anns.append({"id": len(anns) + 1, "image_id": image_id, "category_id": 1, "iscrowd": crowd,
                         "keypoints": kp.round(2).ravel().tolist(), "num_keypoints": int((kp[:, 2] > 0).sum()),
                         "bbox": [round(x, 2), round(y, 2), round(bw, 2), round(bh, 2)],
                         "area": round(float(bw * bh * rng.uniform(0.3, 0.9)), 2)})
            for _ in range(int(rng.integers(0, 3))):  # misses, hits, duplicates
                noise = rng.normal(0, rng.uniform(0.5, 8), (k, 2))
                pk = np.concatenate([kp[:, :2] + noise, rng.uniform(0, 1, (k, 1))], 1)
                results.append({"image_id": image_id, "category_id": 1, "keypoints": pk.round(3).ravel().tolist(),
                                "score": round(float(rng.uniform(0, 1)), 4)})
        if rng.random() < 0.4:  # a false positive
            pk = np.concatenate([rng.uniform(0, min(h, w), (k, 2)), np.ones((k, 1))], 1)
            results.append({"image_id": image_id, "category_id": 1, "keypoints": pk.round(3).ravel().tolist(),
                            "score": round(float(rng.uniform(0, 1)), 4)})
    return images, anns, results
