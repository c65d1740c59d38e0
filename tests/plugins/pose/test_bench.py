"""Benches (``make bench``): train pose models on builtin:stickmen through the CLI and report PCKh on val.

Run one with ``.venv/bin/python -m pytest -m bench -s tests/plugins/pose/test_bench.py -k simple``. Threads follow
the core's rule (all cores of the process, or ``OMP_NUM_THREADS``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


def run(tmp_path: Path, *args: str) -> tuple[dict, float]:
    env = {**os.environ, "CVKIT_CACHE": str(tmp_path / "cache"), "CVKIT_PROGRESS": "0"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cvkit", *args, "--out", str(tmp_path / "run")], check=True, env=env)
    minutes = (time.perf_counter() - start) / 60
    final = json.loads((tmp_path / "run" / "summary.json").read_text())["final"]
    metrics = ", ".join(f"{k[4:]} {v:.3f}" for k, v in final.items() if k.startswith("val_"))
    print(f"\n{' '.join(args)}: {metrics}  {minutes:.1f} min (data + training + evaluation)")
    return final, minutes


@pytest.mark.bench
def test_simple_baseline(tmp_path):
    """The issue's target: PCKh@0.5 >= 0.9 on builtin:stickmen val within 10 minutes on the CPU."""
    final, minutes = run(tmp_path, "train", "pose")
    assert final["val_PCKh"] >= 0.9
    assert minutes < 10


@pytest.mark.bench
def test_hourglass(tmp_path):
    final, _ = run(tmp_path, "train", "pose", "--model", "hourglass")
    assert final["val_PCKh"] >= 0.8


@pytest.mark.bench
def test_keypoint_rcnn(tmp_path):
    """Keypoint R-CNN (ResNet-50 FPN from scratch) is about 50 times the work of the heatmap models per image:
    reported on 450 figures (400 train / 50 val), 4 epochs."""
    env = {**os.environ, "CVKIT_CACHE": str(tmp_path / "cache")}
    data = subprocess.run([sys.executable, "-m", "cvkit", "data", "make", "stickmen", "--size", "450", "--out",
                           str(tmp_path / "data")], check=True, env=env, capture_output=True, text=True).stdout.strip()
    final, _ = run(tmp_path, "train", "pose", "--model", "keypoint-rcnn", "--data", data, "--img-size", "128",
                   "--epochs", "4")
    assert final["val_PCKh"] >= 0.0
