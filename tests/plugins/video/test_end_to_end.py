"""Video through the CLI: data make, train, eval --json, predict (JSONL with clips), eval --predictions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import cvkit


@pytest.fixture(scope="module")
def motion(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("motion") / "data"
    spec = cvkit("data", "make", "motion", "--out", str(out), "--size", "40", "--seed", "3", check=True).stdout
    assert spec.strip() == f"sports1m:{out}"
    return out


@pytest.fixture(scope="module")
def run(motion: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("video_run")
    cvkit("train", "video", "--data", f"sports1m:{motion}", "--model", "early", "--epochs", "1", "--batch-size", "8",
          "--model-arg", "clips=3", "--out", str(out), check=True)
    return out


def test_motion_written_in_the_sports1m_layout(motion: Path):
    train = (motion / "original" / "train_partition.txt").read_text().splitlines()
    test = (motion / "original" / "test_partition.txt").read_text().splitlines()
    assert len(train) == 32 and len(test) == 8
    url, label = train[0].split(" ")
    vid = url.split("v=")[1]
    assert url.startswith("https://www.youtube.com/watch?v=") and len(vid) == 11 and 0 <= int(label) < 8
    assert (motion / "videos" / f"{vid}.mp4").stat().st_size > 0
    assert len((motion / "labels.txt").read_text().splitlines()) == 8
    assert json.loads((motion / "symmetries.json").read_text())["reverse"][0] == ["move left", "move right"]


def test_eval_predict_and_predictions_file_agree(run: Path, motion: Path, tmp_path: Path):
    summary = json.loads((run / "summary.json").read_text())
    assert summary["best"]["metric"] == "video_hit1" and summary["model"]["args"]["clips"] == 3
    doc = json.loads(cvkit("eval", "--weights", str(run / "best.pt"), "--json", check=True).stdout)
    assert doc["task"] == "video" and doc["num_samples"] == 8 and doc["primary"] == "video_hit1"
    assert set(doc["metrics"]) == {"clip_hit1", "video_hit1", "video_hit5", "mAP"}
    assert len(doc["details"]["per_class"]) == 8 and len(doc["details"]["confusion_matrix"]) == 8
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(next((motion / "videos").glob("*.mp4")).read_bytes()[:300])
    preds = tmp_path / "preds.jsonl"
    proc = cvkit("predict", "--weights", str(run / "best.pt"), str(motion / "videos"), str(bad), "--skip-bad",
                 "--output", str(preds), check=True)
    assert "Traceback" not in proc.stderr
    recs = [json.loads(line) for line in preds.read_text().splitlines()]
    assert len(recs) == 41 and all(r["task"] == "video" for r in recs[:40])
    assert recs[40]["error"].startswith(f"{bad}: cannot open as a video")
    assert len(recs[0]["topk"]) == 5 and len(recs[0]["scores"]) == 8 and len(recs[0]["clips"]) == 3
    assert [c["start"] for c in recs[0]["clips"]] == [0, 4, 8]  # 16 frames, 8-frame clips, 3 spread evenly
    assert sum(recs[0]["scores"]) == pytest.approx(1.0, abs=1e-5)
    scored = json.loads(cvkit("eval", "video", "--data", f"sports1m:{motion}", "--predictions", str(preds),
                              "--json", check=True).stdout)
    assert scored["metrics"] == doc["metrics"]


def test_frame_shuffle_split(run: Path):
    from cvkit.engine.evaluate_cli import run_eval

    natural = run_eval(None, run / "best.pt", None, "val", None, None)
    shuffled = run_eval(None, run / "best.pt", None, "val:shuffled", None, None)
    assert shuffled["split"] == "val:shuffled" and shuffled["num_samples"] == natural["num_samples"] == 8
    assert set(shuffled["metrics"]) == set(natural["metrics"])  # what shuffling does is tested in test_clips
