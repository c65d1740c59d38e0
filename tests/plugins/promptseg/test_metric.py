"""mIoU per click count: each IoU equals pycocotools' mask IoU to the last digit; pooling over objects."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from cvkit.task import DatasetInfo
from cvkit.vision.masks import encode_rle
from cvkit_promptseg.metric import PromptSegEvaluator, mask_iou

INFO = DatasetInfo("t", "coco", "coco:t", "val", ["object"])


def blob(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    y, x = rng.integers(0, h - 8), rng.integers(0, w - 8)
    m[y : y + rng.integers(4, h - y), x : x + rng.integers(4, w - x)] = True
    return m ^ (rng.random((h, w)) < 0.05)


def test_iou_equals_pycocotools():
    rng = np.random.default_rng(0)
    for _ in range(50):
        a, b = blob(rng, 37, 53), blob(rng, 37, 53)
        ref = mask_utils.iou([mask_utils.encode(np.asfortranarray(a.astype(np.uint8)))],
                             [mask_utils.encode(np.asfortranarray(b.astype(np.uint8)))], [0])[0, 0]
        assert mask_iou(a, b) == ref


def test_void_pixels_are_left_out():
    gt = np.zeros((10, 10), bool)
    gt[2:8, 2:8] = True
    pred = gt.copy()
    pred[2:8, 0:2] = True  # 12 extra pixels, all void
    ignore = np.zeros_like(gt)
    ignore[:, :2] = True
    assert mask_iou(pred, gt, ignore) == 1.0
    assert mask_iou(pred, gt) == pytest.approx(36 / 48)


def _target(masks):
    return {"size": list(masks[0].shape), "objects": [{"label": 0, "box": [0, 0, 1, 1], "segmentation": encode_rle(m),
                                                        "instance": None} for m in masks], "object_png": None}


def test_evaluator_pools_objects_and_scores_missing_as_zero():
    rng = np.random.default_rng(1)
    gts = [[blob(rng, 20, 30) for _ in range(2)], [blob(rng, 20, 30)]]
    preds = [[[blob(rng, 20, 30) for _ in range(3)] for _ in g] for g in gts]
    ev = PromptSegEvaluator(INFO, clicks=3)
    records = [{"objects": [{"masks": [encode_rle(m) for m in p], "box_mask": encode_rle(p[0])} for p in pi]}
               for pi in preds]
    records[1]["objects"][0]["masks"] = records[1]["objects"][0]["masks"][:1]  # stopped after click 1: kept
    ev.update([0], [records[0]], [_target(gts[0])])
    ev.update([1], [records[1]], [_target(gts[1])])
    ev.update([2], [{"objects": []}], [_target([gts[1][0]])])  # nothing predicted: 0
    got = ev.compute()
    ious = [[mask_iou(p[min(c, len(r["masks"]) - 1)], g) for c in range(3)]
            for gi, pi, rec in zip(gts, preds, records, strict=True) for g, p, r in zip(gi, pi, rec["objects"],
                                                                                         strict=True)]
    ious.append([0.0, 0.0, 0.0])
    ref = np.mean(ious, 0)
    assert [got["miou_1click"], got["miou_2click"], got["miou_3click"]] == pytest.approx(ref.tolist(), abs=0)
    assert got["objects"] == 4
    box_ref = np.mean([mask_iou(p[0], g) for gi, pi in zip(gts, preds, strict=True)
                       for g, p in zip(gi, pi, strict=True)] + [0.0])
    assert got["miou_box"] == pytest.approx(box_ref, abs=1e-15)
    other = PromptSegEvaluator(INFO, clicks=3)
    other.merge([{0: ev.rows[0]}, {1: ev.rows[1], 2: ev.rows[2]}])
    assert other.compute() == got


def test_objects_without_pixels_are_not_counted_and_stay_aligned():
    from cvkit_promptseg.interactive import simulate

    gt = np.zeros((16, 16), bool)
    gt[4:12, 4:12] = True
    empty = np.zeros_like(gt)

    class Oracle(torch.nn.Module):  # answers every prompt with the first object's mask
        img_size, low_res = 16, 16

        def embed(self, images):
            return images

        def select(self, embedding, index):
            return embedding[index]

        def decode(self, selected, points, labels, mask_input=None, has_mask=None):
            logits = torch.where(torch.from_numpy(gt), 5.0, -5.0).expand(len(points), 4, 16, 16)
            return logits, torch.ones(len(points), 4)

    targets = [{"orig_masks": np.stack([empty, gt]), "ignore": None}]
    metas = [{"orig_size": (16, 16), "input_size": (16, 16)}]
    (pred,) = simulate(Oracle(), torch.zeros(1, 3, 16, 16), targets, metas, clicks=3)
    assert pred["objects"][0]["clicks"] == [] and pred["objects"][1]["clicks"] == [[7, 7, 1]]
    ev = PromptSegEvaluator(INFO, clicks=3)
    ev.update([0], [pred], [_target([empty, gt])])
    assert ev.compute() == {"miou_1click": 1.0, "miou_2click": 1.0, "miou_3click": 1.0, "miou_box": 1.0,
                            "objects": 1.0}
