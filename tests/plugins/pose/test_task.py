"""The task's predict path, records, COCO results, drawing and plugin registration."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from cvkit.errors import BadInput
from cvkit.task import DatasetInfo, ModelConfig, PredictOptions
from cvkit_pose.skeleton import MPII_JOINTS, extra_for

from .fixtures import image

INFO = DatasetInfo("mpii", "mpii", "mpii:x", "val", list(MPII_JOINTS),
                   extra_for(MPII_JOINTS, metric="pckh", category_id=1, image_ids={"a.png": 5}))


class PeakAt(nn.Module):
    """Heatmaps (stride 4, 16x16 for a 64 input) with every joint's peak at cell (x, y); mirrored inputs give
    the mirrored map, as a perfectly flip-equivariant network would."""

    def __init__(self, x: int, y: int) -> None:
        super().__init__()
        self.x, self.y = x, y
        self.seen: torch.Tensor | None = None

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        flipped = self.seen is not None and torch.equal(images, self.seen.flip(-1))
        self.seen = None if flipped else images
        hm = torch.zeros(len(images), 16, 16, 16)
        hm[:, :, self.y, 15 - self.x if flipped else self.x] = 0.8
        return hm


def test_predict_whole_image_maps_back_to_original_pixels(task, tmp_path):
    image(tmp_path / "a.png", 100, 200)  # h=100, w=200: the crop is the 200x200 square centred on the image
    cfg = ModelConfig("simple-baseline", 64, {"stride": 4, "flip_test": False})
    ds = task.predict_dataset([str(tmp_path / "a.png")], cfg, INFO)
    sample = ds[0]
    assert sample["crops"].shape == (1, 3, 64, 64) and sample["meta"]["crops"] == [[99.5, 49.5, 200.0]]
    batch = task.collate([sample])
    assert batch.targets is None
    [p] = task.predict_step(PeakAt(3, 10), batch)
    # cell 3 of stride 4 -> input 3 * 4 + 1.5 = 13.5 -> original (13.5 - 31.5) * 200 / 64 + 99.5 = 43.25
    # cell 10 -> input 41.5 -> (41.5 - 31.5) * 200 / 64 + 49.5 = 80.75 (the quarter shift does not move a lone peak)
    np.testing.assert_allclose(p["keypoints"][0, :, :2], np.tile([43.25, 80.75], (16, 1)))
    np.testing.assert_allclose(p["keypoints"][0, :, 2], 0.8)
    np.testing.assert_allclose(p["boxes"], [[0, 0, 200, 100]])
    assert len(task.predict_step(PeakAt(3, 10), batch, PredictOptions(conf=0.9))[0]["scores"]) == 0


def test_flip_test_averages_the_mirrored_prediction(task, tmp_path):
    image(tmp_path / "a.png", 64, 64)
    cfg = ModelConfig("simple-baseline", 64, {"stride": 4, "flip_test": True})
    batch = task.collate([task.predict_dataset([str(tmp_path / "a.png")], cfg, INFO)[0]])
    # an equivariant model's flipped output, flipped back, peaks at the same cell: the average is unchanged
    [p] = task.predict_step(PeakAt(3, 10), batch)
    np.testing.assert_allclose(p["keypoints"][0, :, :2], np.tile([13.5, 41.5], (16, 1)))
    np.testing.assert_allclose(p["keypoints"][0, :, 2], 0.8)


def test_unreadable_image_names_file(task, tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    ds = task.predict_dataset([str(tmp_path / "bad.jpg")], ModelConfig("simple-baseline", 64), INFO)
    with pytest.raises(BadInput, match="bad.jpg"):
        ds[0]


class FakeRCNN(nn.Module):
    def forward(self, images, targets=None):
        kp = torch.zeros(1, 16, 3)
        kp[0, :, 0], kp[0, :, 1] = 31.5, 15.5
        return [{"boxes": torch.tensor([[0.0, 0.0, 32.0, 16.0]]), "scores": torch.tensor([0.9]),
                 "labels": torch.tensor([1]), "keypoints": kp, "keypoints_scores": torch.zeros(1, 16)}
                for _ in images]


def test_keypoint_rcnn_outputs_map_back(task, tmp_path):
    image(tmp_path / "a.png", 32, 128)  # resized to 64x64: x * 2, y / 2
    cfg = ModelConfig("keypoint-rcnn", 64)
    batch = task.collate([task.predict_dataset([str(tmp_path / "a.png")], cfg, INFO)[0]])
    [p] = task.predict_step(FakeRCNN(), batch)
    np.testing.assert_allclose(p["keypoints"][0, 0], [(31.5 + 0.5) * 2 - 0.5, (15.5 + 0.5) / 2 - 0.5, 0.5])
    np.testing.assert_allclose(p["boxes"], [[0, 0, 64, 8]])


def _prediction() -> dict:
    kp = np.stack([np.stack([np.arange(16) + 0.25, np.full(16, 3.0), np.linspace(0.1, 0.9, 16)], 1)] * 2)
    kp[1, :, 0] += 40
    return {"keypoints": kp, "boxes": np.array([[0, 0, 20, 10], [40, 0, 60, 10.0]]), "scores": np.array([0.5, 0.7])}


def test_record_round_trip_and_outputs(task):
    pred = _prediction()
    rec = task.record(pred, INFO)
    assert [p["score"] for p in rec["people"]] == [0.7, 0.5]  # best first
    assert rec["people"][1]["keypoints"][0] == [0.25, 3.0, 0.1] and rec["people"][0]["box"] == [40, 0, 60, 10]
    back = task.parse_record(json.loads(json.dumps(rec)), INFO)
    np.testing.assert_allclose(back["keypoints"], pred["keypoints"][::-1], atol=1e-4)
    empty = task.parse_record({}, INFO)
    assert empty["keypoints"].shape == (0, 16, 3) and len(empty["scores"]) == 0
    with pytest.raises(ValueError, match=r"people\[0\]"):
        task.parse_record({"people": [{"keypoints": [[1, 2, 3]], "score": 1}]}, INFO)
    rows = task.csv_rows({"source": "a.png", **rec}, INFO)
    assert len(rows) == 2 and rows[0]["person"] == 0 and rows[1]["r_ankle_x"] == 0.25
    coco = task.coco_results(pred, INFO, 5)
    assert coco[0]["image_id"] == 5 and coco[0]["category_id"] == 1 and len(coco[0]["keypoints"]) == 48


def test_read_coco_results(task, tmp_path):
    f = tmp_path / "res.json"
    f.write_text(json.dumps(task.coco_results(_prediction(), INFO, 5) + task.coco_results(_prediction(), INFO, 9)))
    pairs = list(task.read_predictions_file(f, INFO))
    assert [name for name, _ in pairs] == ["a.png", "9"]  # dataset file name when the id is known
    np.testing.assert_allclose(pairs[0][1]["scores"], [0.5, 0.7])
    (tmp_path / "p.jsonl").write_text('{"source": "a.png"}\n')
    assert task.read_predictions_file(tmp_path / "p.jsonl", INFO) is None
    f.write_text(json.dumps([{"image_id": 5, "category_id": 1, "keypoints": [1, 2], "score": 1}]))
    with pytest.raises(BadInput, match=r"res\.json \(\[0\]\): bad keypoint result"):
        list(task.read_predictions_file(f, INFO))


def test_drawing(task):
    img = np.zeros((64, 64, 3), np.uint8)
    drawn = task.draw(img, _prediction(), INFO)
    assert drawn.shape == (256, 256, 3) and drawn.any()
    from cvkit_pose.target import make_target

    t = make_target(_prediction()["keypoints"][..., :2], np.ones((2, 16)), (64, 64), head_boxes=[[0, 0, 5, 5]] * 2)
    assert task.draw_target(img, t, INFO).any()
