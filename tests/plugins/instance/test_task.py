"""The task's predict path, records, COCO results round trip, drawing and plugin registration."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils
from torch import nn

from cvkit.errors import BadInput
from cvkit.task import DatasetInfo, ModelConfig, PredictOptions

INFO = DatasetInfo("d", "coco", "coco:d", "val", ["cat", "dog"],
                   {"category_ids": [17, 18], "image_ids": {"a.png": 5, "b.png": 9}})


class FixedMask(nn.Module):
    """One dog per image: box (8, 16)-(32, 48) and its filled mask, in input pixels."""

    def forward(self, images, targets=None):
        _, _, h, w = images.shape
        m = torch.zeros(1, 1, h, w)
        m[..., 16:48, 8:32] = 0.9
        return [{"boxes": torch.tensor([[8.0, 16.0, 32.0, 48.0]]), "scores": torch.tensor([0.75]),
                 "labels": torch.tensor([1]), "masks": m} for _ in images]


def test_predict_step_maps_to_original_pixels(task, tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((100, 200, 3), np.uint8))  # resized to 64x64
    ds = task.predict_dataset([str(tmp_path / "a.png")], ModelConfig("maskrcnn-small", 64), INFO)
    batch = task.collate([ds[0]])
    assert batch.targets is None and batch.meta[0]["orig_size"] == (100, 200)
    [p] = task.predict_step(FixedMask(), batch)
    np.testing.assert_allclose(p["boxes"].numpy(), [[25.0, 25.0, 100.0, 75.0]])
    m = mask_utils.decode({"size": p["masks"][0]["size"], "counts": p["masks"][0]["counts"].encode()})
    assert m.shape == (100, 200) and m[30:70, 30:95].all() and not m[:20].any() and not m[:, 110:].any()
    [q] = task.predict_step(FixedMask(), batch, PredictOptions(conf=0.8))
    assert len(q["scores"]) == 0 and q["masks"] == []


def test_record_coco_results_and_files(task, tmp_path):
    mask = np.zeros((20, 30), np.uint8)
    mask[2:6, 3:9] = 1
    r = mask_utils.encode(np.asfortranarray(mask))
    rle = {"size": [20, 30], "counts": r["counts"].decode()}
    pred = {"boxes": torch.tensor([[3.0, 2.0, 9.0, 6.0], [0.0, 0.0, 1.0, 1.0]]), "scores": torch.tensor([0.25, 0.5]),
            "labels": torch.tensor([0, 1]), "masks": [rle, rle]}
    rec = task.record(pred, INFO)
    json.dumps(rec)
    assert [d["label"] for d in rec["detections"]] == ["dog", "cat"] and rec["detections"][1]["area"] == 24
    back = task.parse_record({"source": "a.png", **rec}, INFO)
    assert back["labels"].tolist() == [1, 0] and back["masks"][1] == rle
    empty = task.parse_record({}, INFO)
    assert empty["boxes"].shape == (0, 4) and empty["masks"] == []
    with pytest.raises(ValueError, match=r"detections\[0\]"):
        task.parse_record({"detections": [{"index": 0, "score": 1, "box": [0, 0, 1, 1]}]}, INFO)
    assert task.csv_rows({"source": "a.png", **rec})[1]["area"] == 24
    res = task.coco_results(pred, INFO, 9)
    assert res[0]["category_id"] == 17 and res[0]["bbox"] == [3.0, 2.0, 6.0, 4.0] and res[0]["segmentation"] == rle
    f = tmp_path / "res.json"
    f.write_text(json.dumps(res + [{"image_id": 5, "category_id": 18, "score": 0.1,
                                    "segmentation": {"size": [20, 30], "counts": [0, 600]}}]))
    got = dict(task.read_predictions_file(f, INFO))
    assert set(got) == {"a.png", "b.png"} and got["b.png"]["labels"].tolist() == [0, 1]
    np.testing.assert_allclose(got["a.png"]["boxes"], [[0, 0, 30, 20]])  # box of the mask when no bbox
    (tmp_path / "p.jsonl").write_text("{}\n")
    assert task.read_predictions_file(tmp_path / "p.jsonl", INFO) is None
    f.write_text(json.dumps([{"image_id": 5, "category_id": 17, "score": 1, "bbox": [0, 0, 1, 1]}]))
    with pytest.raises(BadInput, match=r"res\.json \(\[0\]\.segmentation\)"):
        list(task.read_predictions_file(f, INFO))


def test_draw(task):
    from cvkit_instance.datasets.target import make_instance_target

    img = np.zeros((20, 30, 3), np.uint8)
    mask = np.zeros((20, 30), np.uint8)
    mask[2:6, 3:9] = 1
    r = mask_utils.encode(np.asfortranarray(mask))
    pred = {"boxes": np.array([[3, 2, 9, 6.0]]), "scores": np.array([0.9]), "labels": np.array([1]),
            "masks": [{"size": [20, 30], "counts": r["counts"].decode()}]}
    out = task.draw(img, pred, INFO)
    k = 13  # images under 256 px are drawn enlarged by ceil(256 / 20)
    assert out.shape == (20 * k, 30 * k, 3) and out[4 * k, 6 * k].any() and not out[15 * k, 25 * k].any()
    assert not img.any()
    pred["scores"] = np.array([0.1])  # below the drawing threshold
    assert not task.draw(img, pred, INFO)[4 * k, 6 * k].any()
    t = make_instance_target([[3, 2, 9, 6]], [0], (20, 30), [[[3.0, 2.0, 9.0, 2.0, 9.0, 6.0, 3.0, 6.0]]])
    assert task.draw_target(img, t, INFO)[4 * k, 6 * k].any()
