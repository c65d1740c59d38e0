"""The task in process: datasets from real COCO files, training losses, the click simulation, records, drawing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cvkit.task import ModelConfig
from cvkit.vision.masks import decode_rle
from cvkit.vision.shapes import write_shapes


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return write_shapes(tmp_path_factory.mktemp("shapes") / "d", 8, 0, fmt="coco", val_size=3)


@pytest.fixture(scope="module")
def setup(task, shapes):
    from cvkit.data import load_split

    raw = load_split(task, f"coco:{shapes}", "val")
    cfg = ModelConfig("sam-tiny", 64, {"dim": 32, "width": 8}, task.mean, task.std)
    torch.manual_seed(0)
    return raw, cfg, task.build_model(cfg, raw.info).eval()


def test_dataset_resizes_like_sam(task, setup):
    raw, cfg, _ = setup
    ds = task.dataset(raw, cfg, train=False)
    s = ds[0]
    assert s["image"].shape == (3, 64, 64) and s["meta"]["orig_size"] == (128, 128)
    assert s["meta"]["input_size"] == (64, 64)
    assert s["target"]["masks"].shape[1:] == (64, 64) and len(s["target"]["masks"]) == len(raw.targets[0]["objects"])
    assert s["target"]["orig_masks"].shape[1:] == (128, 128)
    assert raw.info.classes == ["object"] and raw.info.extra["object_classes"] == ["circle", "square", "triangle"]


def test_train_step_gives_gradients(task, setup):
    raw, cfg, model = setup
    ds = task.dataset(raw, cfg, train=True)
    batch = task.collate([ds[i] for i in range(len(ds))])
    model.train()
    torch.manual_seed(3)
    logs = task.train_step(model, batch)
    model.eval()
    assert torch.isfinite(logs["loss"]) and logs["loss"] > 0
    logs["loss"].backward()
    assert model.image_encoder.neck.weight.grad.abs().sum() > 0 and model.mask_tokens.grad.abs().sum() > 0
    model.zero_grad()


def test_simulation_is_deterministic(task, setup):
    raw, cfg, model = setup
    ds = task.dataset(raw, cfg, train=False)
    batch = task.collate([ds[i] for i in range(len(ds))])
    with torch.no_grad():
        a = task.predict_step(model, batch)
        b = task.predict_step(model, batch)
    assert a == b
    for pred, target in zip(a, raw.targets, strict=True):
        assert len(pred["objects"]) == len(target["objects"])
        for o in pred["objects"]:
            assert 1 <= len(o["clicks"]) <= 3 and len(o["masks"]) == 3 and o["clicks"][0][2] == 1
            assert decode_rle(o["masks"][0]).shape == (128, 128) and decode_rle(o["box_mask"]).shape == (128, 128)
    ev = task.evaluator(raw.info)
    ev.update(list(range(len(a))), a, raw.targets)
    m = ev.compute()
    assert set(m) == {"miou_1click", "miou_2click", "miou_3click", "miou_box", "objects"}
    assert m["objects"] == sum(len(t["objects"]) for t in raw.targets)


def test_prompts_and_everything(task, setup):
    from cvkit.task import Batch, PredictOptions

    raw, cfg, model = setup
    ds = task.predict_dataset(raw.sources[:2], cfg, raw.info)
    batch = task.collate([ds[0], ds[1]])
    batch = Batch(batch.inputs, None, [0, 1], batch.meta)
    opts = PredictOptions(extra={"point": ["30,40", "60,60,0"], "box": ["10,10,50,50", "0,0,127,127"],
                                 "multimask": "true"})
    with torch.no_grad():
        preds = task.predict_step(model, batch, opts)
        rec = task.record(preds[0], raw.info)
        assert rec["image_size"] == [128, 128] and len(rec["prompts"]) == 2
        assert rec["prompts"][0]["points"] == [[30.0, 40.0, 1], [60.0, 60.0, 0]]
        assert len(rec["prompts"][0]["masks"]) == 3
        single = task.predict_step(model, batch, PredictOptions(extra={"point": "30,40"}))[0]["prompts"][0]
        assert len(single["masks"]) == 1 and single["best"] == 0
        every = task.predict_step(model, batch, PredictOptions(extra={"everything": True, "points_per_side": 4,
                                                                      "iou_thresh": -10, "stability_thresh": 0}))
    assert all("everything" in p for p in every)
    img = np.zeros((128, 128, 3), np.uint8)
    assert task.draw(img, preds[0], raw.info).shape == (128, 384, 3)  # three multimask panels
    assert task.draw(img, every[0], raw.info).shape == (128, 128, 3)
    rows = task.csv_rows({"source": "a", **rec})
    assert len(rows) == 6 and rows[0]["prompt"] == 0 and {r["best"] for r in rows} == {0, 1}


def test_parse_record_round_trip(task, setup):
    raw, cfg, model = setup
    ds = task.dataset(raw, cfg, train=False)
    batch = task.collate([ds[0]])
    with torch.no_grad():
        pred = task.predict_step(model, batch)[0]
    import json

    back = task.parse_record(json.loads(json.dumps(task.record(pred, raw.info))), raw.info)
    assert back == {"objects": pred["objects"]}
    assert task.parse_record({}, raw.info) == {"objects": []}
    with pytest.raises(ValueError, match="simulated clicks"):
        task.parse_record({"prompts": []}, raw.info)


def test_focus_window_trains_simulates_and_runs_every_round(task, shapes):
    """``focus=16``: full-resolution masks through training (all rounds), the click simulation and records."""
    from cvkit.data import load_split
    from cvkit_promptseg.interactive import train_rounds

    raw = load_split(task, f"coco:{shapes}", "val")
    cfg = ModelConfig("sam-tiny", 64, {"dim": 32, "width": 8, "focus": 16}, task.mean, task.std)
    torch.manual_seed(0)
    model = task.build_model(cfg, raw.info)
    assert model.low_res == 64
    ds = task.dataset(raw, cfg, train=True)
    batch = task.collate([ds[i] for i in range(len(ds))])
    for rounds in (1, 3):
        logs = train_rounds(model, batch.inputs, batch.targets, batch.meta, np.random.default_rng(rounds), rounds)
        logs["loss"].backward()
        assert torch.isfinite(logs["loss"]) and model.focus_net[-1].weight.grad.abs().sum() > 0
        model.zero_grad()
    model.eval()
    evalset = task.dataset(raw, cfg, train=False)
    with torch.no_grad():
        preds = task.predict_step(model, task.collate([evalset[i] for i in range(len(evalset))]))
    assert all(decode_rle(o["masks"][2]).shape == (128, 128) for p in preds for o in p["objects"])
