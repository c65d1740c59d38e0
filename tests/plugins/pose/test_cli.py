"""CLI round trip with a tiny model: train one epoch, eval --json, predict (JSONL with --save-vis) and eval
--predictions giving the same numbers as eval --weights; the COCO results path through the same library calls
(in-process, to keep the test fast)."""

from __future__ import annotations

import json

import pytest

from cvkit_pose.datasets.stickmen import StickmenBuiltin
from tests.conftest import cvkit

TINY = ["--model-arg", "stride=2", "--model-arg", "sigma=1", "--model-arg", "width=8", "--model-arg",
        "deconv_channels=16", "--model-arg", "max_channels=32"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("pose_cli")
    spec = StickmenBuiltin().write(root / "data", "mpii", 27, 0)
    cvkit("train", "pose", "--data", spec, "--epochs", "1", "--img-size", "32", "--batch-size", "12", *TINY,
          "--out", str(root / "run"), check=True)
    return root, spec


def test_round_trip(trained):
    root, spec = trained
    summary = json.loads((root / "run" / "summary.json").read_text())
    assert summary["task"] == "pose" and summary["best"]["metric"] == "PCKh"
    ev = json.loads(cvkit("eval", "--weights", str(root / "run" / "best.pt"), "--json", check=True).stdout)
    assert ev["task"] == "pose" and ev["split"] == "val" and ev["num_samples"] == 3 and ev["primary"] == "PCKh"
    assert set(ev["metrics"]) == {"PCKh", "PCKh@0.1", "Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle"}
    assert len(ev["details"]["per_joint"]) == 16

    images = sorted(str(p) for p in (root / "data" / "images").glob("9*.png"))
    out = cvkit("predict", "--weights", str(root / "run" / "best.pt"), *images, "--save-vis", str(root / "vis"),
                check=True).stdout
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["source"] for r in records] == images
    person = records[0]["people"][0]
    assert len(person["keypoints"]) == 16 and len(person["keypoints"][0]) == 3 and len(person["box"]) == 4
    assert len(list((root / "vis").glob("*.png"))) == 3
    (root / "preds.jsonl").write_text(out)
    scored = json.loads(cvkit("eval", "pose", "--data", spec, "--predictions", str(root / "preds.jsonl"), "--json",
                              check=True).stdout)
    assert scored["metrics"] == pytest.approx(ev["metrics"], abs=1e-12)

    from cvkit.engine.evaluate_cli import run_eval
    from cvkit.engine.predict_cli import run_predict

    run_predict(None, root / "run" / "best.pt", images, "coco", str(root / "preds.json"), None, 4, None, "torch",
                "cpu", 0, None)
    results = json.loads((root / "preds.json").read_text())
    assert {r["image_id"] for r in results} == {900001, 900002, 900003}
    scored = run_eval("pose", None, spec, "val", None, root / "preds.json")
    assert scored["metrics"] == pytest.approx(ev["metrics"], abs=1e-12)
