"""Interrupting a real training process and resuming it ends with exactly the weights of an uninterrupted run."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from tests.conftest import cvkit

ARGS = ["train", "classify", "--epochs", "4", "--model-arg", "dropout=0.2", "--model-arg", "augment=light",
        "--batch-size", "32", "--seed", "3"]


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def test_sigint_mid_training_then_resume_matches_uninterrupted(tmp_path: Path) -> None:
    full = tmp_path / "full"
    cvkit(*ARGS, "--out", str(full), check=True)

    part = tmp_path / "part"
    proc = subprocess.Popen([sys.executable, "-m", "cvkit", *ARGS, "--out", str(part)], stderr=subprocess.PIPE,
                            text=True, env=os.environ.copy())
    deadline = time.time() + 120
    while not (part / "metrics.csv").exists() and time.time() < deadline:  # first epoch finished
        time.sleep(0.05)
    time.sleep(0.3)  # well inside epoch 2
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert f"cvkit train --resume {part / 'last.pt'}" in err
    assert "Traceback" not in err
    saved = torch.load(part / "last.pt", weights_only=True)
    assert saved["epoch"] < 4

    resumed = cvkit("train", "--resume", str(part / "last.pt"), check=True)
    assert "resuming" in resumed.stderr
    a, b = _weights(full / "last.pt"), _weights(part / "last.pt")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert _history(part) == _history(full)


def _history(run: Path) -> list[dict[str, str]]:
    """metrics.csv without the wall-clock columns (time, data_wait)."""
    with open(run / "metrics.csv", newline="") as fh:
        return [{k: v for k, v in row.items() if k not in ("time", "data_wait")} for row in csv.DictReader(fh)]


def test_resume_can_extend_epochs_and_lists_changes(tmp_path: Path, digits_run: Path) -> None:
    out = tmp_path / "ext"
    cvkit("train", "classify", "--epochs", "1", "--out", str(out), check=True)
    proc = cvkit("train", "--resume", str(out / "last.pt"), "--epochs", "2", "--lr", "0.001", check=True)
    assert "lr: 0.002 -> 0.001" in proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 2


def test_same_seed_same_weights(tmp_path: Path) -> None:
    for name in ("a", "b"):
        cvkit("train", "classify", "--epochs", "1", "--seed", "7", "--out", str(tmp_path / name), check=True)
    a, b = _weights(tmp_path / "a" / "last.pt"), _weights(tmp_path / "b" / "last.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
