"""The task's pieces the core calls: collate, train_step (soft multi-label targets, two streams), predict_step."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from cvkit.plugin import get_task
from cvkit.task import DatasetInfo, ModelConfig
from tests.plugins.video.fixtures import write_video


@pytest.fixture(scope="module")
def task():
    return get_task("video")


def test_spec_and_defaults(task):
    info = DatasetInfo("m", "sports1m", "", "val", ["a", "b"])
    assert task.evaluator(info).primary == "video_hit1" and task.default_model in task.model_names()
    assert ".mp4" in task.input_extensions and ".webm" in task.input_extensions
    assert task.parse_record({}, None) == {"topk": [], "scores": None, "clips": []}


def test_collate_train_step_and_predict_step(task, tmp_path):
    videos = [write_video(tmp_path / f"v{i}.mp4", frames=10) for i in range(3)]
    info = DatasetInfo("t", "videolist", f"videolist:{tmp_path}", "train", ["a", "b", "c", "d"])
    from cvkit.task import RawSplit

    raw = RawSplit(info, [str(v) for v in videos], [[0], [1, 3], [2]])
    cfg = ModelConfig("two-stream", 32, {"frames": 4, "clips": 2}, task.mean, task.std)
    model = task.build_model(cfg, info)
    train = task.dataset(raw, cfg, train=True)
    batch = task.collate([train[i] for i in range(3)])
    # one clip per video; no symmetries.json, so mirroring keeps the labels
    assert batch.inputs.shape == (3, 1, 5, 4, 32, 32) and batch.targets == [[0], [1, 3], [2]]
    model.train()
    torch.manual_seed(0)  # the single-frame stream picks a random frame per clip in training
    logs = task.train_step(model, batch)
    assert set(logs) == {"loss", "rgb_loss", "flow_loss"}
    torch.testing.assert_close(logs["loss"], logs["rgb_loss"] + logs["flow_loss"])
    torch.manual_seed(0)
    rgb, _ = model(batch.inputs.flatten(0, 1))
    target = torch.zeros(3, 4)
    for row, labs in enumerate(batch.targets):
        target[row, labs] = 1 / len(labs)  # a video with two labels: half of the target on each
    torch.testing.assert_close(logs["rgb_loss"], F.cross_entropy(rgb, target), atol=1e-4, rtol=0)
    model.eval()
    evalset = task.dataset(raw, cfg, train=False)
    batch = task.collate([evalset[i] for i in range(3)])
    with torch.no_grad():
        preds = task.predict_step(model, batch)
    assert len(preds) == 3 and len(preds[0]["clips"]) == 2 and len(preds[0]["topk"]) == 4
    assert math.isclose(sum(preds[0]["scores"]), 1.0, abs_tol=1e-5)
    rec = task.record(preds[0], info)
    assert rec["topk"][0]["label"] in info.classes and task.parse_record(rec, info) == preds[0]


def test_contact_sheet_of_frames_and_flow(tmp_path):
    from cvkit_video.draw import video_contact_sheet

    video = write_video(tmp_path / "v.mp4", frames=10)
    info = DatasetInfo("t", "videolist", "", "val", ["left", "right"])
    sheet = video_contact_sheet(str(video), {"topk": [(1, 0.75), (0, 0.25)]}, info, count=4, with_flow=True)
    assert sheet.dtype.name == "uint8" and sheet.shape == (2 * 18 + 6 + 2 * 96, 4 * 96, 3)
