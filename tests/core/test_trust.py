"""Training you can trust: bad images stop or are skipped and counted, non-finite losses stop cleanly,
and a writer killed at any moment leaves the previous complete file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from cvkit.io.atomic import atomic_write
from tests.conftest import cvkit
from tests.plugins.classify.fixtures import make_imagefolder


def _folder_with_bad_image(root: Path) -> tuple[Path, Path]:
    make_imagefolder(root, classes=("a", "b"), per_class=6, size=(16, 16))
    bad = root / "train" / "a" / "a_99.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return root, bad


def test_bad_image_stops_training_with_its_name(tmp_path: Path) -> None:
    root, bad = _folder_with_bad_image(tmp_path / "data")
    proc = cvkit("train", "classify", "--data", f"imagefolder:{root}", "--epochs", "1", "--out", str(tmp_path / "r"))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {bad}: not a readable image")
    assert "Traceback" not in proc.stderr


def test_skip_bad_counts_in_summary_and_eval(tmp_path: Path) -> None:
    root, bad = _folder_with_bad_image(tmp_path / "data")
    (root / "val" / "b" / "b_99.jpg").write_bytes(b"")
    out = tmp_path / "r"
    proc = cvkit("train", "classify", "--data", f"imagefolder:{root}", "--epochs", "2", "--out", str(out),
                 "--skip-bad", check=True)
    assert proc.stderr.count(f"skipped: {bad}") == 1  # warned once, although seen every epoch
    summary = json.loads((out / "summary.json").read_text())
    assert summary["skipped_inputs"] == 2
    doc = json.loads(cvkit("eval", "--weights", str(out / "best.pt"), "--skip-bad", "--json", check=True).stdout)
    assert doc["skipped"] == 1 and doc["num_samples"] == 12


def test_non_finite_loss_stops_with_epoch_and_step(tmp_path: Path) -> None:
    out = tmp_path / "r"
    proc = cvkit("train", "classify", "--epochs", "3", "--lr", "1e30", "--optimizer", "sgd", "--out", str(out))
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: loss became") and "at epoch 1, step" in last
    assert not (out / "last.pt").exists()  # no checkpoint of broken weights


WRITER = """
import sys, torch
from cvkit.io.atomic import torch_save
path, i = sys.argv[1], 0
print("ready", flush=True)
while True:
    i += 1
    torch_save({"i": i, "w": torch.full((1_000_000,), float(i))}, path)
"""


def test_killed_writer_leaves_a_complete_file(tmp_path: Path) -> None:
    path = tmp_path / "ck.pt"
    torch.save({"i": 0, "w": torch.zeros(1_000_000)}, path)
    for delay in (0.05, 0.13, 0.31, 0.47):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        data = torch.load(path, weights_only=True)
        assert torch.equal(data["w"], torch.full((1_000_000,), float(data["i"])))
    assert not [p for p in tmp_path.iterdir() if p.name != "ck.pt" and not p.name.endswith(".tmp")]


def test_failed_write_keeps_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text("old\n")
    try:
        with atomic_write(path) as fh:
            fh.write("half")
            raise RuntimeError("disk full")
    except RuntimeError:
        pass
    assert path.read_text() == "old\n"
    assert list(tmp_path.iterdir()) == [path]
