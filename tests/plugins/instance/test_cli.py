"""Round trips through the real CLI: train one epoch on tiny shapes, eval, predict (JSONL and COCO results), and
score the predictions against eval --weights."""

from __future__ import annotations

import json

import pytest

from cvkit.engine.evaluate_cli import run_eval
from cvkit.engine.predict_cli import run_predict
from cvkit_instance.datasets.shapes import ShapesInstanceDataset
from tests.conftest import cvkit


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("instance_cli")
    data = root / "shapes"
    ShapesInstanceDataset().write(data, "coco", 20, seed=1)
    cvkit("train", "instance", "--data", f"coco:{data}", "--epochs", "1", "--batch-size", "10", "--out",
          str(root / "run"), check=True)
    return root, data


def close(a: dict, b: dict) -> bool:
    """Records round scores to 6 and boxes to 3 decimals: equal to eval --weights within that rounding."""
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-3 for k in a)


def test_train_eval_predict_round_trip(trained):
    root, data = trained
    best = root / "run" / "best.pt"
    ev = json.loads(cvkit("eval", "--weights", str(best), "--json", check=True).stdout)
    assert ev["task"] == "instance" and ev["primary"] == "segm_AP50" and ev["num_samples"] == 2
    assert {"segm_AP", "segm_AP50", "bbox_AP", "bbox_ARl"} <= set(ev["metrics"]) and len(ev["metrics"]) == 24
    images = str(data / "val2017" / "*.jpg")
    cvkit("predict", "--weights", str(best), images, "--output", str(root / "p.jsonl"), check=True)
    run_predict(None, best, [images], "coco", str(root / "p.json"), None, 16, None, "torch", "cpu", 0, None)
    recs = [json.loads(line) for line in (root / "p.jsonl").read_text().splitlines()]
    assert len(recs) == 2 and all("detections" in r for r in recs)
    assert all(d["rle"]["size"] == [64, 64] for r in recs for d in r["detections"])
    results = json.loads((root / "p.json").read_text())
    assert all({"image_id", "category_id", "bbox", "score", "segmentation"} <= set(r) for r in results)
    scored = json.loads(cvkit("eval", "instance", "--data", f"coco:{data}", "--predictions", str(root / "p.jsonl"),
                              "--json", check=True).stdout)
    assert close(scored["metrics"], ev["metrics"]), (scored["metrics"], ev["metrics"])
    coco = run_eval("instance", None, f"coco:{data}", "val", None, root / "p.json")  # a COCO segm results list
    assert close(coco["metrics"], ev["metrics"]), (coco["metrics"], ev["metrics"])
