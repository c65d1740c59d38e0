"""Caption end to end on a tiny scenes set: train one epoch through the CLI, predict, evaluate, and score the
JSONL and COCO results files with ``eval --predictions`` to the same numbers; loaders and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cvkit.engine.evaluate_cli import run_eval
from cvkit.engine.predict_cli import run_predict
from cvkit.errors import BadInput
from cvkit.plugin import get_task
from cvkit.task import ModelConfig
from cvkit.vision.scenes import captions, generate
from cvkit_caption.datasets.karpathy import KarpathyFormat
from cvkit_caption.datasets.scenes import ScenesBuiltin
from tests.conftest import cvkit


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("capdata") / "scenes"
    ScenesBuiltin().write(out, "coco", 30, 0)
    return out


@pytest.fixture(scope="module")
def run(scenes, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("caprun") / "run"
    cvkit("train", "caption", "--data", f"coco:{scenes}", "--epochs", "1", "--batch-size", "10", "--out", str(out),
          "--model-arg", "captions_per_image=2", check=True)
    return out


def test_scenes_written_as_coco_captions(scenes):
    doc = json.loads((scenes / "annotations" / "captions_val2017.json").read_text())
    assert len(doc["images"]) == 5 and len(doc["annotations"]) == 25
    img, objs = generate(0, "val", 0)
    assert [a["caption"] for a in doc["annotations"][:5]] == captions(objs)
    assert (scenes / "val2017" / doc["images"][0]["file_name"]).is_file()


def test_train_predict_eval_round_trip(run, scenes, tmp_path):
    summary = json.loads((run / "summary.json").read_text())
    assert {"val_CIDEr-D", "val_BLEU-4", "val_exact_match", "val_slot_relation"} <= set(summary["final"])
    direct = run_eval(None, run / "best.pt", None, "val", None, None)
    assert direct["primary"] == "CIDEr-D" and direct["num_samples"] == 5
    val = sorted(str(p) for p in (scenes / "val2017").glob("*.jpg"))
    jsonl, coco = tmp_path / "p.jsonl", tmp_path / "p.json"
    run_predict(None, run / "best.pt", val, "jsonl", str(jsonl), None, 4, None, "torch", "cpu", 0, tmp_path / "vis")
    run_predict(None, run / "best.pt", val, "coco", str(coco), None, 4, None, "torch", "cpu", 0, None)
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["source"] for r in records] == val
    assert all(r["task"] == "caption" and isinstance(r["tokens"], list) and r["caption"] == " ".join(r["tokens"])
               for r in records)
    assert [r["image_id"] for r in json.loads(coco.read_text())] == [1, 2, 3, 4, 5]
    assert len(list((tmp_path / "vis").glob("*.png"))) == 5
    for path in (jsonl, coco):
        scored = run_eval("caption", None, f"coco:{scenes}", "val", None, path)
        assert scored["metrics"] == direct["metrics"]


def test_decoding_options_reach_predict(run, scenes, tmp_path):
    val = sorted(str(p) for p in (scenes / "val2017").glob("*.jpg"))[:2]
    out = tmp_path / "beam.jsonl"
    run_predict(None, run / "best.pt", val, "jsonl", str(out), None, 2, None, "torch", "cpu", 0, None,
                task_args={"beam": "3", "max_len": "4"})
    assert all(len(json.loads(line)["tokens"]) <= 4 for line in out.read_text().splitlines())
    # the default model decodes with a beam of 3 unless told otherwise
    assert json.loads((run / "summary.json").read_text())["model"]["args"] == {
        "encoder_depth": 2, "beam": 3, "captions_per_image": 2}
    plain, beam3 = tmp_path / "plain.jsonl", tmp_path / "beam3.jsonl"
    run_predict(None, run / "best.pt", val, "jsonl", str(plain), None, 2, None, "torch", "cpu", 0, None)
    run_predict(None, run / "best.pt", val, "jsonl", str(beam3), None, 2, None, "torch", "cpu", 0, None,
                task_args={"beam": "3"})
    assert plain.read_text() == beam3.read_text()
    with pytest.raises(Exception, match="beam"):
        run_predict(None, run / "best.pt", val, "jsonl", str(out), None, 2, None, "torch", "cpu", 0, None,
                    task_args={"colour": "red"})


def test_nearest_neighbour_returns_the_training_caption(scenes):
    from cvkit.data import load_split

    task = get_task("caption")
    raw = load_split(task, f"coco:{scenes}", "train")
    cfg = ModelConfig("nn-pixels", 64, {}, task.mean, task.std)
    model = task.build_model(cfg, raw.info)
    ds = task.dataset(raw, cfg, train=True)
    batches = [task.collate([ds[i] for i in range(k, min(k + 8, len(ds)))]) for k in range(0, len(ds), 8)]
    model.fit(iter(batches))
    with torch.no_grad():
        pred = task.predict_step(model, task.collate([ds[3]]))[0]
    assert pred["caption"] == raw.targets[3][0]


def test_karpathy_split(tmp_path):
    doc = {"dataset": "coco", "images": [
        {"filepath": "val2014", "filename": "a.jpg", "cocoid": 7, "split": "train",
         "sentences": [{"raw": "A red circle.", "tokens": ["a", "red", "circle"]}]},
        {"filepath": "val2014", "filename": "b.jpg", "cocoid": 8, "split": "restval",
         "sentences": [{"tokens": ["a", "blue", "square"]}]},
        {"filepath": "val2014", "filename": "c.jpg", "cocoid": 9, "split": "test", "sentences": [{"raw": "x"}]}]}
    f = tmp_path / "dataset_coco.json"
    f.write_text(json.dumps(doc))
    fmt = KarpathyFormat()
    assert fmt.detect(tmp_path) and fmt.detect(f)
    train = fmt.load(tmp_path, "train", {})
    assert train.sources == [str(tmp_path / "val2014" / "a.jpg"), str(tmp_path / "val2014" / "b.jpg")]
    assert train.targets == [["A red circle."], ["a blue square"]]
    assert train.info.extra["image_ids"] == {"a.jpg": 7, "b.jpg": 8}
    assert fmt.load(tmp_path, "test", {"images": "/data"}).sources == ["/data/val2014/c.jpg"]
    doc["images"][0]["sentences"] = "oops"
    f.write_text(json.dumps(doc))
    with pytest.raises(BadInput, match=r"dataset_coco.json.*images\[0\]"):
        fmt.load(tmp_path, "train", {})
    assert len(fmt.load(tmp_path, "train", {"skip_bad": True}).sources) == 1


def test_missing_captions_file_is_named(tmp_path):
    task = get_task("caption")
    (tmp_path / "annotations").mkdir()
    with pytest.raises(BadInput, match="captions_val2017.json"):
        task.formats()["coco"].load(tmp_path, "val", {})
