"""Multi-label task pieces without training: losses, records and their parsing, drawing, thresholds in the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cvkit.plugin import get_task
from cvkit.task import Batch, DatasetInfo, ModelConfig, PredictOptions
from cvkit_multilabel.task import asymmetric_loss

INFO = DatasetInfo("t", "csv", "csv:/x", "val", ["cat", "dog", "hat"])


def test_asymmetric_loss_reduces_to_bce_and_drops_easy_negatives() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.3], [-3.0, 0.5, 1.2]])
    y = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    assert torch.allclose(asymmetric_loss(logits, y, 0.0, 0.0, 0.0), bce, atol=1e-6)
    asl = asymmetric_loss(logits, y, 4.0, 0.0, 0.05)
    assert asl[1, 0] == 0  # p = sigmoid(-3) = 0.047 < clip: an easy negative contributes nothing
    assert torch.allclose(asl[y > 0], bce[y > 0], atol=1e-6)  # gamma_pos = 0: positives as BCE


def test_train_step_ignores_difficult_entries() -> None:
    task = get_task("multilabel")
    model = task.build_model(ModelConfig("small-cnn", 32, {"channels": 4, "depth": 2}), INFO)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        a = float(task.train_step(model, Batch(x, torch.tensor([[1.0, -1, 0], [-1, 1, 1]]), [0, 1], []))["loss"])
        b = float(task.train_step(model, Batch(x, torch.tensor([[1.0, -1, 0], [-1, 1, 0]]), [0, 1], []))["loss"])
        logits = model(x)
    y = torch.tensor([[1.0, 0, 0], [0, 1, 1]])
    per = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    assert a == pytest.approx(float(per.flatten()[[0, 1, 3, 4, 5]].mean()), rel=1e-5)
    assert b == pytest.approx(float(per.flatten()[[0, 1, 3, 4]].mean()), rel=1e-5)


def test_predict_step_applies_the_stored_thresholds_and_records_round_trip() -> None:
    task = get_task("multilabel")
    model = task.build_model(ModelConfig("small-cnn", 32, {"channels": 4, "depth": 2}), INFO).eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        probs = torch.sigmoid(model(x)).double().numpy()
        model.thresholds.copy_(torch.tensor([0.0, 1.1, float(np.median(probs[:, 2]))]))
        preds = task.predict_step(model, Batch(x, None, [0, 1, 2], []))
    for p, row in zip(preds, probs, strict=True):
        want = [0] + ([2] if row[2] >= np.float32(np.median(probs[:, 2])) else [])
        assert p["labels"] == want  # cat always, dog never
        rec = task.record(p, INFO)
        assert list(rec["scores"]) == ["cat", "dog", "hat"]
        back = task.parse_record(rec, INFO)
        assert np.array_equal(back["scores"], p["scores"]) and sorted(back["labels"]) == p["labels"]
        rows = task.csv_rows({"source": "s", **rec})
        assert [r["predicted"] for r in rows] == [1, 0, int(2 in want)]
        img = task.draw(np.zeros((16, 16, 3), np.uint8), p, INFO)
        assert img.shape == (192, 192, 3) and img.max() > 0
    assert task.parse_record({}, INFO) == {"scores": None, "labels": []}
    with torch.no_grad():
        over = task.predict_step(model, Batch(x, None, [0, 1, 2], []), PredictOptions(conf=0.5))
    assert [p["labels"] for p in over] == [np.nonzero(row >= 0.5)[0].tolist() for row in probs]
    shown = task.draw_target(np.zeros((8, 8, 3), np.uint8), [1, -1, 0], INFO)
    assert shown.shape[0] == 192
