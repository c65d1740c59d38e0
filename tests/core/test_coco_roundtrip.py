"""``predict --format coco`` is scored by ``eval --predictions`` to the numbers of ``eval --weights``, on datasets
whose images have no COCO ids (VOC layouts): the image ids predict writes are matched back to the split's files.

No model is trained: the task's ``predict_step`` is replaced by an oracle that answers each image with a perturbed
copy of its ground truth (looked up by the sample's source), so both paths see the same predictions and the metrics
are neither 0 nor 1. Both paths run the real dataset, loader, records, writer and readers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cvkit.data import load_split
from cvkit.engine.evaluate import evaluate_model
from cvkit.engine.evaluate_cli import run_eval
from cvkit.engine.predict import predict
from cvkit.io.predictions import coco_image_id
from cvkit.io.writers import make_writer
from cvkit.plugin import get_task
from cvkit.task import NO_OPTIONS, ModelConfig

CPU = torch.device("cpu")


def _detections(target: dict, k: int) -> dict:
    """The ground truth minus its first box, the rest shifted by k px, scored 0.9..0.5, plus one false positive."""
    boxes = np.asarray(target["boxes"], np.float32)[1:] + np.float32(k % 3)
    labels = np.asarray(target["labels"], np.int64)[1:]
    boxes = np.concatenate([boxes, [[1.0, 2.0, 20.0, 24.0]]]).astype(np.float32)
    labels = np.concatenate([labels, [0]])
    scores = np.linspace(0.9, 0.5, len(labels)).astype(np.float32)
    return {"boxes": torch.from_numpy(boxes), "scores": torch.from_numpy(scores), "labels": torch.from_numpy(labels)}


def _label_map(target: dict, n: int, k: int) -> dict:
    from cvkit_segment.datasets.target import load_label

    labels = load_label(target, n).copy()
    labels[labels == 255] = 0
    labels = np.roll(labels, 2 + k % 3, axis=1)  # boundaries off by a few pixels
    labels[: 4 + k, :] = (k % (n - 1)) + 1  # a wrong band on top
    return {"labels": torch.from_numpy(labels), "source": ""}


def _oracle(task, raw, answer):
    by_source = {s: i for i, s in enumerate(raw.sources)}

    def predict_step(model, batch, options=NO_OPTIONS):
        out = []
        for meta in batch.meta:
            i = by_source[meta["source"]]
            out.append(answer(raw.targets[i], i))
        return out

    return predict_step


@pytest.mark.parametrize("name, fmt, spec_format", [("detect", "voc", "voc"), ("segment", "voc-seg", "voc")])
def test_coco_results_of_predict_score_like_eval_weights(name, fmt, spec_format, tmp_path, monkeypatch):
    task = get_task(name)
    task.builtins()["shapes"].write(tmp_path / "D", fmt, 40, 3)
    spec = f"{spec_format}:{tmp_path / 'D'}"
    raw = load_split(task, spec, "val")
    trained_on = load_split(task, spec, "train").info  # what a checkpoint carries: no image ids for VOC
    n = len(raw.info.classes)
    answer = (lambda t, k: _detections(t, k)) if name == "detect" else (lambda t, k: _label_map(t, n, k))
    monkeypatch.setattr(task, "predict_step", _oracle(task, raw, answer))
    model_cfg = ModelConfig(task.default_model, 64)
    model = torch.nn.Identity()

    direct = evaluate_model(task, model, task.dataset(raw, model_cfg, train=False), CPU, 4, show_progress=False)
    writer = make_writer("coco", str(tmp_path / "p.json"))
    predict(task, model, model_cfg, trained_on, list(raw.sources), writer, CPU, batch_size=4)
    writer.close(True)
    entries = json.loads((tmp_path / "p.json").read_text())
    assert {e["image_id"] for e in entries} <= {coco_image_id(s) for s in raw.sources}

    scored = run_eval(name, None, spec, "val", None, tmp_path / "p.json")
    assert scored["num_samples"] == len(raw.sources) > 1
    primary = direct.metrics[direct.primary]
    assert 0.05 < primary < 0.99
    assert scored["metrics"].keys() == direct.metrics.keys()
    for key, value in direct.metrics.items():  # boxes and scores are rounded to 3 and 6 decimals in the file
        assert scored["metrics"][key] == pytest.approx(value, abs=1e-3), key
    if name == "segment":
        assert scored["metrics"] == direct.metrics  # label maps survive the RLEs exactly


def test_image_ids_of_files_without_dataset_ids():
    assert coco_image_id("a/000000000139.jpg") == 139
    assert coco_image_id("VOC2007/JPEGImages/2008_000123.jpg") == 2008000123
    h = coco_image_id("x/val_000001.jpg")
    assert h == coco_image_id("y/val_000001.png") and 0 <= h < 2**48  # the stem decides; JSON-safe
    assert h != coco_image_id("x/val_000002.jpg") and coco_image_id("_12.jpg") != 12


def test_segment_results_with_a_foreign_category_name_the_entry(tmp_path):
    from cvkit.errors import BadInput
    from cvkit.vision.masks import encode_rle

    task = get_task("segment")
    task.builtins()["shapes"].write(tmp_path / "D", "voc-seg", 8, 1)
    spec = f"voc:{tmp_path / 'D'}"
    rle = encode_rle(np.ones((64, 64), bool))
    (tmp_path / "r.json").write_text(json.dumps([{"image_id": 1, "category_id": 1, "segmentation": rle},
                                                 {"image_id": 1, "category_id": 99, "segmentation": rle}]))
    with pytest.raises(BadInput, match=r"r\.json.*\[1\]\.category_id.*99"):
        run_eval("segment", None, spec, "val", None, tmp_path / "r.json")
