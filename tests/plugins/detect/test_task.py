"""The task's data path, records, COCO results, drawing and plugin registration."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from cvkit.errors import BadInput
from cvkit.task import DatasetInfo, ModelConfig, PredictOptions
from cvkit.vision.detections import make_target
from cvkit_detect.metrics.evaluator import DetectionEvaluator

INFO = DatasetInfo("d", "coco", "coco:d", "val", ["cat", "dog"],
                   {"category_ids": [17, 18], "image_ids": {"a.png": 5, "b.png": 9}})


class FixedBox(nn.Module):
    """Predicts one box in input pixels for every image."""

    def forward(self, images, targets=None):
        return [{"boxes": torch.tensor([[8.0, 16.0, 32.0, 48.0]]), "scores": torch.tensor([0.75]),
                 "labels": torch.tensor([1])} for _ in images]


def test_predict_path_maps_boxes_to_original_pixels(task, tmp_path):
    img = np.zeros((100, 200, 3), np.uint8)  # h=100, w=200, resized to 64x64
    cv2.imwrite(str(tmp_path / "a.png"), img)
    cfg = ModelConfig("centernet", 64)
    ds = task.predict_dataset([str(tmp_path / "a.png")], cfg, INFO)
    batch = task.collate([ds[0]])
    assert batch.targets is None and batch.meta[0]["orig_size"] == (100, 200)
    [p] = task.predict_step(FixedBox(), batch)
    np.testing.assert_allclose(p["boxes"].numpy(), [[25.0, 25.0, 100.0, 75.0]])  # x * 200/64, y * 100/64
    assert len(task.predict_step(FixedBox(), batch, PredictOptions(conf=0.8))[0]["scores"]) == 0
    assert len(task.predict_step(FixedBox(), batch)[0]["scores"]) == 1  # nothing stays behind on the task


def test_unreadable_image_names_file(task, tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    ds = task.predict_dataset([str(tmp_path / "bad.jpg")], ModelConfig("centernet", 64), INFO)
    with pytest.raises(BadInput, match="bad.jpg"):
        ds[0]


def test_training_sample_drops_ignored_boxes(task, tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((50, 100, 3), np.uint8))
    from cvkit.task import RawSplit

    t = make_target([[0, 0, 50, 25], [50, 25, 100, 50]], [0, 1], (50, 100), iscrowd=[False, True])
    raw = RawSplit(INFO, [str(tmp_path / "a.png")], [t])
    sample = task.dataset(raw, ModelConfig("centernet", 64), train=False)[0]
    assert sample["target"]["labels"].tolist() == [0]
    np.testing.assert_allclose(sample["target"]["boxes"].numpy(), [[0, 0, 32, 32]])


def test_record_round_trip_and_outputs(task):
    pred = {"boxes": torch.tensor([[1.0, 2.0, 11.0, 22.0], [5.0, 5.0, 6.0, 7.0]]),
            "scores": torch.tensor([0.25, 0.5]), "labels": torch.tensor([0, 1])}
    rec = task.record(pred, INFO)
    assert rec == {"detections": [
        {"label": "dog", "index": 1, "score": 0.5, "box": [5.0, 5.0, 6.0, 7.0]},
        {"label": "cat", "index": 0, "score": 0.25, "box": [1.0, 2.0, 11.0, 22.0]},
    ]}
    json.dumps(rec)
    back = task.parse_record({"source": "a.png", **rec}, INFO)
    np.testing.assert_allclose(back["boxes"], [[5, 5, 6, 7], [1, 2, 11, 22]])
    assert back["labels"].tolist() == [1, 0]
    rows = task.csv_rows({"source": "a.png", "task": "detect", **rec})
    assert rows[0] == {"source": "a.png", "label": "dog", "index": 1, "score": 0.5, "x1": 5.0, "y1": 5.0, "x2": 6.0,
                       "y2": 7.0}
    res = task.coco_results(pred, INFO, 5)
    assert res[0] == {"image_id": 5, "category_id": 17, "bbox": [1.0, 2.0, 10.0, 20.0], "score": 0.25}
    with pytest.raises(ValueError, match="detections\\[0\\]"):
        task.parse_record({"source": "x", "detections": [{"score": 1}]}, INFO)
    empty = task.parse_record({}, INFO)
    assert empty["boxes"].shape == (0, 4) and len(empty["scores"]) == 0


def test_read_coco_results_file(task, tmp_path):
    f = tmp_path / "res.json"
    f.write_text(json.dumps([{"image_id": 9, "category_id": 18, "bbox": [1, 2, 3, 4], "score": 0.5}]))
    [(name, p)] = list(task.read_predictions_file(f, INFO))
    assert name == "b.png" and p["labels"].tolist() == [1]
    np.testing.assert_allclose(p["boxes"], [[1, 2, 4, 6]])
    (tmp_path / "p.jsonl").write_text('{"source": "a.png", "detections": []}\n')
    assert task.read_predictions_file(tmp_path / "p.jsonl", INFO) is None


def test_evaluator_state_merge(task):
    t = make_target([[0, 0, 10, 10]], [0], (20, 20))
    hit = {"boxes": np.array([[0, 0, 10, 10.0]]), "scores": np.array([0.9]), "labels": np.array([0])}
    miss = {"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0, np.int64)}
    a, b, whole = (task.evaluator(INFO, "voc") for _ in range(3))
    a.update([0], [hit], [t])
    b.update([1], [miss], [t])
    whole.update([0, 1], [hit, miss], [t, t])
    merged = task.evaluator(INFO, "voc")
    merged.merge([a.state(), b.state()])
    assert merged.compute() == whole.compute() == {"mAP": 0.5}
    assert isinstance(task.evaluator(INFO), DetectionEvaluator) and task.evaluator(INFO).primary == "AP50"
    assert "voc07" in task.metric_names()


def test_draw(task):
    img = np.zeros((60, 80, 3), np.uint8)
    pred = {"boxes": np.array([[10, 10, 50, 40.0]]), "scores": np.array([0.9]), "labels": np.array([1])}
    out = task.draw(img, pred, INFO)
    k = 5  # pictures under 256 px are drawn enlarged by ceil(256 / 60)
    assert out.shape == (60 * k, 80 * k, 3) and out.dtype == np.uint8 and out.any() and not img.any()
    t = make_target([[10, 10, 50, 40]], [0], (60, 80), difficult=[True])
    assert task.draw_target(img, t, INFO).any()
