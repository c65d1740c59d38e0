"""Classification through the CLI: run folder, eval JSON, predictions in order, scoring a predictions file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import yaml

from tests.conftest import cvkit
from tests.core.test_cli import digits_val_dir


def test_run_folder_contents(digits_run: Path) -> None:
    for name in ("config.yaml", "metrics.csv", "last.pt", "best.pt", "summary.json", "loss.png", "metrics.png"):
        assert (digits_run / name).stat().st_size > 0, name
    config = yaml.safe_load((digits_run / "config.yaml").read_text())
    assert config["model"] == "mlp" and config["epochs"] == 3 and config["seed"] == 0
    rows = list(csv.DictReader(open(digits_run / "metrics.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    summary = json.loads((digits_run / "summary.json").read_text())
    assert summary["best"]["metric"] == "top1"
    assert summary["dataset"]["fingerprint"]["num_samples"] == 1797
    assert summary["versions"]["cvkit"]


def test_eval_json_and_predictions_file_agree(digits_run: Path, tmp_path: Path) -> None:
    doc = json.loads(cvkit("eval", "--weights", str(digits_run / "best.pt"), "--json", check=True).stdout)
    assert doc["task"] == "classify" and doc["split"] == "val" and doc["num_samples"] == 360
    assert doc["primary"] == "top1" and doc["metrics"]["top1"] > 0.85  # 10 classes: chance is 0.1
    preds = tmp_path / "preds.jsonl"
    cvkit("predict", "--weights", str(digits_run / "best.pt"), str(digits_val_dir(digits_run)),
          "--output", str(preds), check=True)
    scored = json.loads(cvkit("eval", "classify", "--data", "builtin:digits", "--predictions", str(preds),
                              "--json", check=True).stdout)
    assert scored["metrics"] == doc["metrics"]


def test_predict_order_errors_and_skip_bad(digits_run: Path, tmp_path: Path) -> None:
    good = sorted((digits_val_dir(digits_run) / "3").glob("*.png"))[:2]
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    fake = tmp_path / "fake.jpg"
    fake.write_text("not an image")
    args = [str(good[0]), str(empty), str(tmp_path / "missing.png"), str(fake), str(good[1])]
    proc = cvkit("predict", "--weights", str(digits_run / "best.pt"), *args)
    assert proc.returncode == 1
    recs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["source"] for r in recs] == args
    assert [("error" in r) for r in recs] == [False, True, True, True, False]
    assert recs[1]["error"] == f"{empty}: empty file (0 bytes)"
    assert recs[2]["error"] == f"{tmp_path / 'missing.png'}: no such file"
    assert recs[0]["topk"][0]["label"] == "3"
    assert "Traceback" not in proc.stderr
    assert cvkit("predict", "--weights", str(digits_run / "best.pt"), *args, "--skip-bad").returncode == 0


def test_predict_csv_and_stdin(digits_run: Path, tmp_path: Path) -> None:
    files = sorted((digits_val_dir(digits_run) / "7").glob("*.png"))[:3]
    proc = cvkit("predict", "--weights", str(digits_run / "best.pt"), "-", "--format", "csv",
                 input="\n".join(map(str, files)) + "\n", check=True)
    rows = list(csv.DictReader(proc.stdout.splitlines()))
    assert len(rows) == 3 * 5 and rows[0]["source"] == str(files[0]) and rows[0]["rank"] == "1"


def test_save_vis_and_visualize(digits_run: Path, tmp_path: Path) -> None:
    img = sorted((digits_val_dir(digits_run) / "5").glob("*.png"))[0]
    cvkit("predict", "--weights", str(digits_run / "best.pt"), str(img), "--save-vis", str(tmp_path / "vis"),
          check=True)
    drawn = list((tmp_path / "vis").glob("*.png"))
    assert len(drawn) == 1 and cv2.imread(str(drawn[0])).shape[0] >= 64
    out = tmp_path / "conf"
    cvkit("visualize", "confusion", "--weights", str(digits_run / "best.pt"), "--out", str(out), check=True)
    cm = np.array(json.loads((out / "confusion.json").read_text())["matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 360


def test_visualize_explain_kind_and_layers(digits_run: Path, tmp_path: Path) -> None:
    img = sorted((digits_val_dir(digits_run) / "4").glob("*.png"))[0]
    out = tmp_path / "sal"
    proc = cvkit("visualize", "saliency", str(img), "--weights", str(digits_run / "best.pt"), "--out", str(out),
                 check=True)
    pngs = [Path(p) for p in proc.stdout.split() if p.endswith(".png")]
    assert len(pngs) == 1 and pngs[0].exists()
    sidecar = json.loads(pngs[0].with_suffix(".json").read_text())
    assert sidecar  # the numbers behind the picture
    layers = cvkit("visualize", "activations", "--weights", str(digits_run / "best.pt"), "--out", str(out),
                   "--list-layers", check=True).stdout.splitlines()
    assert [line.split("\t")[0] for line in layers] == ["0", "1", "2", "3"]
