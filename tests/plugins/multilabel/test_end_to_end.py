"""Multi-label classification through the CLI: train on shapes, tuned thresholds in the checkpoint, eval JSON,
predictions with every class's score, and a predictions file scored to the same numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cvkit.engine.evaluate_cli import run_eval
from cvkit.errors import BadInput
from cvkit_multilabel.datasets.shapes import ShapesBuiltin
from tests.conftest import cvkit


def _eval(**kw: object) -> dict:
    base = {"task": None, "weights": None, "data": None, "split": "val", "metric": None, "predictions": None,
            "device": "cpu"}
    return json.loads(json.dumps(run_eval(**{**base, **kw})))  # as `eval --json` prints it


@pytest.fixture(scope="module")
def shapes_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    data = tmp_path_factory.mktemp("ml_data") / "shapes"
    spec = ShapesBuiltin().write(data, "coco", 60, 0)
    out = tmp_path_factory.mktemp("ml_run")
    cvkit("train", "multilabel", "--data", spec, "--epochs", "2", "--img-size", "32", "--batch-size", "16",
          "--model-arg", "channels=8", "--model-arg", "depth=3", "--out", str(out), check=True)
    return out, spec


def test_checkpoint_thresholds_are_the_tuned_ones(shapes_run: tuple[Path, str]) -> None:
    out, spec = shapes_run
    ck = torch.load(out / "best.pt", weights_only=True)
    thresholds = ck["state_dict"]["thresholds"]
    assert thresholds.shape == (3,) and not torch.all(thresholds == 0.5)
    doc = _eval(weights=out / "best.pt")
    assert doc["task"] == "multilabel" and doc["primary"] == "mAP" and doc["num_samples"] == 12
    m = doc["metrics"]
    assert set(m) == {"mAP", "mAP_ranking", "f1", "f1_micro", "f1_tuned", "exact_match"}
    # the stored thresholds were tuned on this very split by this very model: F1 at them is the tuned F1
    assert m["f1"] == pytest.approx(m["f1_tuned"])
    assert doc["details"]["tuned_thresholds"] == pytest.approx(thresholds.tolist())
    assert doc["details"]["ap_rule"] == "area (VOC2010+)"
    voc07 = _eval(weights=out / "best.pt", metric="voc07")
    assert voc07["details"]["ap_rule"] == "11-point (VOC2007)" and voc07["metrics"]["mAP_ranking"] == m["mAP_ranking"]


def test_predictions_file_scores_the_same(shapes_run: tuple[Path, str], tmp_path: Path) -> None:
    out, spec = shapes_run
    images = sorted((Path(spec.split(":", 1)[1]) / "val2017").glob("*.jpg"))
    preds = tmp_path / "preds.jsonl"
    cvkit("predict", "--weights", str(out / "best.pt"), *map(str, images), "--output", str(preds), check=True)
    recs = [json.loads(line) for line in preds.read_text().splitlines()]
    assert len(recs) == 12 and set(recs[0]["scores"]) == {"circle", "square", "triangle"}
    ck = torch.load(out / "best.pt", weights_only=True)
    thr = dict(zip(["circle", "square", "triangle"], ck["state_dict"]["thresholds"].tolist(), strict=True))
    for r in recs:  # labels are exactly the classes at or over their stored threshold, best first
        over = [k for k, v in r["scores"].items() if v >= thr[k]]
        assert sorted(t["label"] for t in r["labels"]) == sorted(over)
        assert [t["score"] for t in r["labels"]] == sorted((t["score"] for t in r["labels"]), reverse=True)
    direct = _eval(weights=out / "best.pt")
    scored = _eval(task="multilabel", data=spec, predictions=preds)
    assert scored["metrics"] == direct["metrics"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"source": str(images[0]), "scores": {"hexagon": 0.3}}) + "\n")
    with pytest.raises(BadInput, match=r"bad\.jsonl.*line 1.*hexagon"):
        _eval(task="multilabel", data=spec, predictions=bad)
