"""Validation pictures after training: mosaics of ground truth beside prediction with mistakes marked, and the
curves of the last evaluation's details (PR, F1/precision/recall against confidence, confusion)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from cvkit.contract import DatasetInfo, ValidationPicture
from cvkit.engine.valpics import mosaic, write_validation_pictures
from cvkit.vision.draw import WRONG


def test_mosaics_after_a_one_epoch_training(tmp_path):
    from cvkit.engine.config import TrainConfig
    from cvkit.engine.train import train
    from cvkit_detect.datasets.shapes import ShapesDataset

    data = tmp_path / "data"
    ShapesDataset().write(data, "coco", 24, seed=1)
    cfg = TrainConfig(task="detect", data=f"coco:{data}", epochs=1, batch_size=8, img_size=64, out=str(tmp_path / "r"))
    run = train(cfg, {"data", "epochs", "batch_size", "img_size", "out"})
    doc = json.loads((run / "val_batches.json").read_text())
    assert (run / "val_batch0.png").is_file() and doc["split"] == "val" and doc["samples"]
    for s in doc["samples"]:
        missed, false = (int(x.split()[0]) for x in s["note"].split(", "))
        assert s["wrong"] == bool(missed or false) and s["picture"] == "val_batch0.png"
        assert Path(s["source"]).is_file()


def test_wrong_samples_are_framed_in_red():
    grey = np.full((40, 40, 3), 128, np.uint8)
    out = mosaic([ValidationPicture(grey, grey, True, "1 missed"), ValidationPicture(grey, grey)], ["a", "b"])
    red = np.all(out == np.array(WRONG, np.uint8), axis=-1)
    half = out.shape[1] // 2
    assert red[:, :half].sum() > 1000 and red[:, half:].sum() == 0


def _run(tmp_path: Path, task: object) -> SimpleNamespace:
    info = DatasetInfo("d", "coco", "coco:d", "val", ["a", "b"])
    return SimpleNamespace(task=task, val_set=SimpleNamespace(info=info), out=tmp_path)


def test_curves_from_details_and_no_pictures_without_the_hook(tmp_path):
    conf = [i / 100 for i in range(101)]
    curve = {"precision": [1 - c / 2 for c in conf], "recall": [1 - c for c in conf], "f1": [0.5] * 101}
    details = {"pr_curves": {"a": {"recall": [0, 1], "precision": [1, 0.5], "ap": 0.7}},
               "confidence_curves": {"confidence": conf, "classes": {"a": curve, "b": curve}},
               "confusion_matrix": [[3, 1], [0, 4]], "classes": ["a", "b"]}
    run = _run(tmp_path, SimpleNamespace())  # a task without validation_picture: nothing is predicted
    written = write_validation_pictures(run, details)
    names = {p.name for p in written}
    assert names == {"pr_curves.png", "f1_confidence.png", "precision_confidence.png", "recall_confidence.png",
                     "confusion.png"}
    assert all(p.stat().st_size > 1000 for p in written)
    assert json.loads((tmp_path / "confidence_curves.json").read_text())["classes"]["a"] == curve
    assert not list(tmp_path.glob("val_batch*"))
    assert write_validation_pictures(_run(tmp_path / "none", SimpleNamespace())) == []


@pytest.mark.parametrize("metric", ["coco", "voc"])
def test_detection_confidence_curves(metric):
    from cvkit.vision.detections import make_target
    from cvkit_detect.metrics.evaluator import DetectionEvaluator

    info = DatasetInfo("d", "voc" if metric == "voc" else "coco", "x", "val", ["a", "b"])
    targets = [make_target([[0, 0, 20, 20], [40, 40, 60, 60]], [0, 0], (100, 100)),
               make_target([[10, 10, 50, 50]], [1], (100, 100))]
    preds = [{"boxes": np.array([[0, 0, 20, 20], [70, 70, 90, 90], [40, 40, 60, 60.0]]),
              "scores": np.array([0.9, 0.7, 0.35]), "labels": np.array([0, 0, 0])},
             {"boxes": np.array([[10, 10, 50, 50.0]]), "scores": np.array([0.55]), "labels": np.array([1])}]
    ev = DetectionEvaluator(info, metric)
    ev.update([0, 1], preds, targets)
    ev.compute()
    c = ev.details()["confidence_curves"]
    a, b = c["classes"]["a"], c["classes"]["b"]
    at = {round(x, 2): i for i, x in enumerate(c["confidence"])}
    # class a: 0.9 tp, 0.7 fp, 0.35 tp over 2 objects
    assert (a["precision"][at[0.8]], a["recall"][at[0.8]]) == (1.0, 0.5)
    assert a["precision"][at[0.5]] == pytest.approx(0.5) and a["recall"][at[0.5]] == 0.5
    assert a["precision"][at[0.3]] == pytest.approx(2 / 3) and a["recall"][at[0.3]] == 1.0
    assert a["f1"][at[0.3]] == pytest.approx(0.8)
    assert (b["recall"][at[0.55]], b["recall"][at[0.56]], b["precision"][at[0.56]]) == (1.0, 0.0, 1.0)
