"""``builtin:stickmen``: procedurally drawn front-facing stick figures with MPII's 16 joints and a head box.

64x64 images, one figure each, 70-92 % of the image tall, on a noisy colour gradient. The figure faces the viewer
(its right side on the image's left), so mirroring an image is mirroring the person, as MPII's flip augmentation
assumes; all limbs share one colour (left and right are told apart by position, not colour). Arms and legs take
random angles and bends; the torso leans a little. Every joint is inside the image and labelled.

The images are person-centred crops, like LSP's: the MPII ``center``/``scale`` of each figure describe the whole
image (after HRNet's adjustment the crop is exactly the image), which is also the crop ``cvkit predict`` uses on
an image without person boxes, so prediction and evaluation see the same input. The COCO form gives the tight box
of the drawing as ``bbox`` (``area`` is the box area: stick figures have no segmentation).

Deterministic: image ``i`` of a split comes from its own generator ``(seed, split, i)``, so a smaller ``--size`` is a
prefix of a larger one. Train images are ``000001.png`` ..., val images ``900001.png`` ...; the number is the COCO
image id. Default size 4,500 images: 4,000 train and 500 val (``--size N``: N - N/9 train, N/9 val).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from cvkit.contract import BuiltinDataset
from cvkit.data import fresh_folder
from cvkit.errors import CvkitError, UsageError
from cvkit_pose.datasets.mpii_mat import write_gt_mat
from cvkit_pose.skeleton import MPII_JOINTS, MPII_SKELETON
from cvkit_pose.target import ENLARGE, MPII_CENTRE_SHIFT, MPII_PIXELS

IMAGE_SIZE = 64
DEFAULT_SIZE = 4500
SPLITS = {"train": 0, "val": 1}
ID_OFFSET = {"train": 0, "val": 900000}


def _polar(origin: np.ndarray, length: float, angle: float) -> np.ndarray:
    """The point ``length`` away from ``origin`` at ``angle`` radians from straight down (positive toward +x)."""
    return origin + length * np.array([math.sin(angle), math.cos(angle)])


def _pose(rng: np.random.Generator, s: int) -> tuple[np.ndarray, float]:
    """Joints ``(16, 2)`` (0-based pixel centres, MPII order) and the head radius of one random figure."""
    hf = rng.uniform(0.70, 0.92) * s
    r = 0.075 * hf
    pelvis = np.array([rng.uniform(0.38, 0.62) * s, 0.0])
    lean = rng.uniform(-0.18, 0.18)
    up = np.array([math.sin(lean), -math.cos(lean)])
    j = np.zeros((16, 2))
    j[7] = pelvis + 0.27 * hf * up  # thorax
    j[8] = j[7] + 0.06 * hf * up  # upper neck
    j[9] = j[8] + (2 * r + 0.01 * hf) * up  # head top
    side = np.array([-up[1], up[0]])  # toward image right (the person's left)
    j[6] = pelvis
    for hip, knee, ankle, sign in ((2, 1, 0, -1), (3, 4, 5, 1)):
        j[hip] = pelvis + sign * 0.07 * hf * side
        thigh = sign * rng.uniform(-0.15, 0.55)
        j[knee] = _polar(j[hip], 0.24 * hf, thigh)
        j[ankle] = _polar(j[knee], 0.23 * hf, thigh + sign * rng.uniform(-0.6, 0.3))
    for sho, elb, wri, sign in ((12, 11, 10, -1), (13, 14, 15, 1)):
        j[sho] = j[7] + sign * 0.11 * hf * side + 0.01 * hf * up
        arm = sign * rng.uniform(0.1, 2.6)
        j[elb] = _polar(j[sho], 0.17 * hf, arm)
        j[wri] = _polar(j[elb], 0.16 * hf, arm + sign * rng.uniform(-1.2, 1.2))
    top = j[:, 1].min()
    bottom = j[:, 1].max()
    j[:, 1] += rng.uniform(0.04 * s, max(0.04 * s, 0.96 * s - (bottom - top))) - top
    return j, r


def _background(rng: np.random.Generator, s: int) -> np.ndarray:
    base = rng.uniform(0, 255, 3)
    direction = rng.uniform(-80, 80, 3)
    ramp = np.linspace(-0.5, 0.5, s)
    grad = ramp[None, :, None] * direction if rng.random() < 0.5 else ramp[:, None, None] * direction
    return (base + grad + rng.normal(0, 10, (s, s, 3))).clip(0, 255)


def generate(seed: int, split: str, i: int, s: int = IMAGE_SIZE) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                            np.ndarray]:
    """Image ``i`` of ``split``: RGB uint8 ``(s, s, 3)``, joints ``(16, 2)`` (0-based pixel centres), head box and
    figure box ``[x1, y1, x2, y2]`` (pixel edges)."""
    rng = np.random.default_rng([seed, SPLITS[split], i])
    for _ in range(100):
        joints, r = _pose(rng, s)
        if joints.min() >= 1 and joints.max() <= s - 2:
            break
    img = _background(rng, s)
    colour = rng.uniform(0, 255, 3)
    while np.abs(colour - img.mean((0, 1))).sum() < 200:
        colour = rng.uniform(0, 255, 3)
    img = np.ascontiguousarray(img.astype(np.uint8))
    c = tuple(float(v) for v in colour)
    thick = max(1, round(0.035 * s))
    scale = 16  # cv2 draws at 1/16 px with shift=4
    for a, b in MPII_SKELETON:
        p, q = (np.round(joints[[a, b]] * scale)).astype(np.int64)
        cv2.line(img, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), c, thick, cv2.LINE_AA, 4)
    head = (joints[8] + joints[9]) / 2
    hr = np.hypot(*(joints[9] - joints[8])) / 2
    cv2.circle(img, (int(round(head[0] * scale)), int(round(head[1] * scale))), int(round(hr * scale)), c, -1,
               cv2.LINE_AA, 4)
    head_box = np.array([head[0] - hr, head[1] - hr, head[0] + hr, head[1] + hr]) + 0.5
    lo = np.minimum(joints.min(0), head - hr) - thick / 2
    hi = np.maximum(joints.max(0), head + hr) + thick / 2 + 1
    box = np.clip(np.concatenate([lo, hi]), 0, s)
    return img, joints, head_box, box


def split_sizes(size: int | None) -> dict[str, int]:
    n = DEFAULT_SIZE if size is None else int(size)
    if n < 2:
        raise UsageError(f"--size {n}: stickmen needs at least 2 images (1 train, 1 val)")
    val = max(1, round(n / 9))
    return {"train": n - val, "val": val}


def _mpii_person(name: str, joints: np.ndarray, s: int) -> dict[str, Any]:
    """An HRNet-style JSON person whose adjusted crop is exactly the whole ``s x s`` image (1-based numbers)."""
    scale = s / (MPII_PIXELS * ENLARGE)
    centre = [(s - 1) / 2 + 1, (s - 1) / 2 + 1 - MPII_CENTRE_SHIFT * scale]
    return {"image": name, "center": centre, "scale": scale, "joints": (joints + 1).round(3).tolist(),
            "joints_vis": [1] * len(joints)}


def write(out: Path, fmt: str, size: int | None, seed: int) -> str:
    """Write the dataset under ``out`` (which must not exist or be empty) and return its data spec."""
    if fmt not in StickmenBuiltin.formats:
        raise UsageError(f"builtin:stickmen is written as {', '.join(StickmenBuiltin.formats)}, not {fmt!r}")
    sizes = split_sizes(size)
    out = fresh_folder(out)
    for split, n in sizes.items():
        _write_split(out, fmt, split, n, seed)
    return f"{fmt}:{out}"


def _write_split(root: Path, fmt: str, split: str, n: int, seed: int) -> None:
    folder = root / ("images" if fmt == "mpii" else f"{split}2017")
    folder.mkdir(exist_ok=True)
    people, heads, images, anns = [], [], [], []
    for i in range(n):
        img, joints, head, box = generate(seed, split, i)
        image_id = ID_OFFSET[split] + i + 1
        name = f"{image_id:06d}.png"
        if not cv2.imwrite(str(folder / name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
            raise CvkitError(f"{folder / name}: could not write the PNG")
        people.append(_mpii_person(name, joints, img.shape[0]))
        heads.append(head)
        x1, y1, x2, y2 = (round(float(v), 2) for v in box)
        kp = np.concatenate([joints.round(2), np.full((len(joints), 1), 2.0)], 1).ravel().tolist()
        images.append({"id": image_id, "file_name": name, "height": img.shape[0], "width": img.shape[1]})
        anns.append({"id": image_id, "image_id": image_id, "category_id": 1, "iscrowd": 0, "keypoints": kp,
                     "num_keypoints": len(joints), "bbox": [x1, y1, round(x2 - x1, 2), round(y2 - y1, 2)],
                     "area": round((x2 - x1) * (y2 - y1), 2)})
    if fmt == "mpii":
        annot = root / "annot"
        annot.mkdir(exist_ok=True)
        (annot / f"{'valid' if split == 'val' else split}.json").write_text(json.dumps(people))
        if split == "val":
            joints = np.array([p["joints"] for p in people])
            write_gt_mat(annot / "gt_valid.mat", joints, np.ones(joints.shape[:2]), np.array(heads) + 1)
        return
    (root / "annotations").mkdir(exist_ok=True)
    category = {"id": 1, "name": "person", "supercategory": "person", "keypoints": list(MPII_JOINTS),
                "skeleton": [[a + 1, b + 1] for a, b in MPII_SKELETON]}
    doc = {"info": {"description": "cvkit builtin:stickmen"}, "licenses": [], "images": images,
           "annotations": anns, "categories": [category]}
    (root / "annotations" / f"person_keypoints_{split}2017.json").write_text(json.dumps(doc))


class StickmenBuiltin(BuiltinDataset):
    name = "stickmen"
    formats = ("mpii", "coco")
    description = "4,500 64x64 front-facing stick figures with MPII's 16 joints and head boxes (4,000 train / 500 val)"

    def card(self) -> dict[str, Any]:
        """64x64 figures, 32x32 heatmaps (stride 2, sigma 1), 4 epochs (a few minutes on one CPU core); a 32-channel
        hourglass; Keypoint R-CNN on whole images upscaled to 128 px for 6 epochs."""
        small = {"img_size": 64, "epochs": 4, "batch_size": 32, "lr": 2e-3}
        heatmaps = {"stride": 2, "sigma": 1.0}
        return {"defaults": {**small, "model_args": heatmaps},
                "models": {"hourglass": {**small, "model_args": {**heatmaps, "channels": 32}},
                           "keypoint-rcnn": {"img_size": 128, "epochs": 6, "batch_size": 8, "lr": 1e-3}}}

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        return write(out, fmt, size, seed)
