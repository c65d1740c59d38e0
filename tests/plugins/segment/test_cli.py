"""Round trips through the real CLI: train one epoch on a tiny shapes dataset, eval, predict, and score the
predictions (JSONL and a folder of label PNGs) to the same numbers as eval --weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cvkit.engine.evaluate_cli import run_eval
from cvkit_segment.datasets.shapes import ShapesSegDataset
from tests.conftest import cvkit


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("segment_cli")
    data = root / "shapes"
    ShapesSegDataset().write(data, "voc-seg", 20, seed=1)
    cvkit("train", "segment", "--data", f"voc:{data}", "--epochs", "1", "--batch-size", "8", "--img-size", "32",
          "--model-arg", "width=8", "--model-arg", "depth=3", "--out", str(root / "run"), check=True)
    return root, data


def test_train_eval_predict_round_trip(trained):
    root, data = trained
    best = root / "run" / "best.pt"
    summary = json.loads((root / "run" / "summary.json").read_text())
    assert summary["task"] == "segment" and summary["best"]["metric"] == "mIoU"
    ev = json.loads(cvkit("eval", "--weights", str(best), "--json", check=True).stdout)
    assert ev["task"] == "segment" and ev["primary"] == "mIoU" and ev["num_samples"] == 2
    assert set(ev["metrics"]) == {"mIoU", "pixel_acc", "mean_acc", "fwIoU"}
    assert len(ev["details"]["confusion_matrix"]) == 4 and ev["details"]["classes"][0] == "background"

    empty = root / "empty"
    empty.mkdir()
    plain = cvkit("predict", "--weights", str(best), str(data / "JPEGImages" / "val_*.jpg"), "--format", "csv",
                  cwd=empty, check=True)
    assert plain.stdout.startswith("source,") and list(empty.iterdir()) == []  # nothing written unless asked
    cvkit("predict", "--weights", str(best), str(data / "JPEGImages" / "val_*.jpg"), "--output",
          str(root / "preds.jsonl"), "--save-masks", str(root / "masks"), cwd=empty, check=True)
    assert list(empty.iterdir()) == []
    records = [json.loads(line) for line in (root / "preds.jsonl").read_text().splitlines()]
    assert [r["source"].rsplit("/", 1)[-1] for r in records] == ["val_000000.jpg", "val_000001.jpg"]
    assert [Path(r["mask_png"]).name for r in records] == ["val_000000.png", "val_000001.png"]
    assert all(Path(r["mask_png"]).is_file() and sum(c["pixels"] for c in r["classes"]) == 64 * 64
               for r in records)

    scored = json.loads(cvkit("eval", "segment", "--data", f"voc:{data}", "--predictions", str(root / "preds.jsonl"),
                              "--json", check=True).stdout)
    assert scored["metrics"] == ev["metrics"]
    assert scored["details"]["confusion_matrix"] == ev["details"]["confusion_matrix"]
    folder = run_eval("segment", None, f"voc:{data}", "val", None, root / "masks")
    assert folder["metrics"] == ev["metrics"]  # the VOC results layout: a folder of <image id>.png
