"""Real-format COCO fixtures for the evaluation tests: ground truth and results drawn from a seed."""

from __future__ import annotations

import json

import numpy as np
from pycocotools import mask as mask_utils

COCO_KEYPOINTS = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                  "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                  "right_knee", "left_ankle", "right_ankle"]


def _poly(x, y, w, h, rng):
    """A quadrilateral inside the box, two decimals as real files write them."""
    pts = [(x + rng.uniform(0, 0.3) * w, y), (x + w, y + rng.uniform(0, 0.3) * h), (x + w * rng.uniform(0.7, 1), y + h),
           (x, y + h * rng.uniform(0.7, 1))]
    return [[round(float(v), 2) for p in pts for v in p]]


def uncompressed_counts(m: np.ndarray) -> list[int]:
    """Column-major run lengths starting with zeros, as crowd ground truth writes them."""
    flat = m.T.reshape(-1)
    edges = np.concatenate([[0], np.flatnonzero(np.diff(flat)) + 1, [flat.size]])
    runs = np.diff(edges).tolist()
    return [0] + runs if flat[0] else runs


def instances(seed: int, n_images: int = 8, keypoints: bool = False) -> tuple[dict, list, list]:
    """``(ground truth dict, box+mask results, keypoint results)``: small, medium and large objects, crowd regions,
    category id gaps, results that hit, miss and duplicate."""
    rng = np.random.default_rng(seed)
    cats = [{"id": 1, "name": "person", "supercategory": "person"}]
    if keypoints:
        cats[0].update(keypoints=COCO_KEYPOINTS, skeleton=[[16, 14], [14, 12], [6, 7]])
    else:
        cats += [{"id": 3, "name": "car", "supercategory": "vehicle"}, {"id": 7, "name": "dog", "supercategory": "a"}]
    images, anns, results, kp_results = [], [], [], []
    for i in range(n_images):
        w, h = int(rng.integers(120, 400)), int(rng.integers(120, 400))
        images.append({"id": 100 + i, "file_name": f"{100 + i:012d}.jpg", "width": w, "height": h})
        for _ in range(int(rng.integers(0, 6))):
            side = float(rng.choice([rng.uniform(5, 30), rng.uniform(33, 90), rng.uniform(100, 118)]))
            bw, bh = round(side * rng.uniform(0.6, 1), 2), round(side, 2)
            x, y = round(float(rng.uniform(0, w - bw)), 2), round(float(rng.uniform(0, h - bh)), 2)
            cat = int(rng.choice([c["id"] for c in cats]))
            crowd = int(rng.random() < 0.1)
            ann = {"id": len(anns) + 1, "image_id": 100 + i, "category_id": cat, "bbox": [x, y, bw, bh],
                   "iscrowd": crowd}
            if crowd:
                m = np.zeros((h, w), np.uint8)
                m[int(y):int(y + bh), int(x):int(x + bw)] = 1
                rle = mask_utils.encode(np.asfortranarray(m))
                ann["segmentation"] = {"size": [h, w], "counts": uncompressed_counts(m)}
                assert (mask_utils.decode(mask_utils.frPyObjects(ann["segmentation"], h, w)) == m).all()
                ann["area"] = float(m.sum())
            else:
                ann["segmentation"] = _poly(x, y, bw, bh, rng)
                rle = mask_utils.merge(mask_utils.frPyObjects(ann["segmentation"], h, w))
                ann["area"] = round(float(mask_utils.area(rle)) + 0.5, 1)
            if keypoints:
                kp = []
                for _k in range(17):
                    v = int(rng.choice([0, 1, 2], p=[0.3, 0.2, 0.5])) if not crowd else 0
                    kp += [round(float(rng.uniform(x, x + bw)), 2), round(float(rng.uniform(y, y + bh)), 2), v] \
                        if v else [0, 0, 0]
                ann["keypoints"], ann["num_keypoints"] = kp, sum(1 for v in kp[2::3] if v)
            anns.append(ann)
            for _copy in range(int(rng.choice([0, 1, 1, 2]))):  # a hit, a miss or a duplicate
                jit = rng.normal(0, side * 0.08, 4)
                bb = [round(float(v), 2) for v in (x + jit[0], y + jit[1], max(bw + jit[2], 1), max(bh + jit[3], 1))]
                dm = np.zeros((h, w), np.uint8)
                x0, y0 = max(int(bb[0]), 0), max(int(bb[1]), 0)
                dm[y0:int(bb[1] + bb[3]), x0:int(bb[0] + bb[2])] = 1
                r = mask_utils.encode(np.asfortranarray(dm))
                cat_r = cat if rng.random() < 0.9 else int(rng.choice([c["id"] for c in cats]))
                score = round(float(rng.uniform(0.05, 1)), 4)
                results.append({"image_id": 100 + i, "category_id": cat_r, "bbox": bb, "score": score,
                                "segmentation": {"size": [h, w], "counts": r["counts"].decode("ascii")}})
                if keypoints and "keypoints" in ann:
                    kp = [round(float(v + rng.normal(0, 3)), 2) if k % 3 != 2 else 1
                          for k, v in enumerate(ann["keypoints"])]
                    kp_results.append({"image_id": 100 + i, "category_id": 1, "keypoints": kp, "score": score})
        for _fp in range(int(rng.integers(0, 3))):  # false positives anywhere
            bb = [round(float(rng.uniform(0, w - 40)), 2), round(float(rng.uniform(0, h - 40)), 2),
                  round(float(rng.uniform(4, 40)), 2), round(float(rng.uniform(4, 40)), 2)]
            results.append({"image_id": 100 + i, "category_id": cats[0]["id"], "bbox": bb,
                            "score": round(float(rng.uniform(0, 1)), 4)})
    gt = {"info": {}, "licenses": [], "images": images, "annotations": anns, "categories": cats}
    return gt, results, kp_results


def dump(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path
