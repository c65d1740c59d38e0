"""Benches (``make bench``): train detectors on builtin:shapes through the CLI and check COCO AP50 on val.

Run one with ``.venv/bin/python -m pytest -m bench -s tests/plugins/detect/test_bench.py -k default``. Threads
follow the core's rule (all cores of the process, or ``OMP_NUM_THREADS``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


def train(tmp_path: Path, *args: str) -> tuple[dict, float]:
    env = {**os.environ, "CVKIT_CACHE": str(tmp_path / "cache")}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cvkit", "train", "detect", "--out", str(tmp_path / "run"), *args],
                   check=True, env=env)
    minutes = (time.perf_counter() - start) / 60
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    final = summary["final"]
    print(f"\n{' '.join(args) or 'defaults'}: AP50 {final['val_AP50']:.3f}  AP {final['val_AP']:.3f}  "
          f"{minutes:.1f} min (data + training + evaluation)")
    return final, minutes


@pytest.mark.bench
def test_default_detector(tmp_path):
    """The issue's target: COCO AP50 >= 0.90 on builtin:shapes val within 15 minutes on 2 CPU cores."""
    final, minutes = train(tmp_path)
    assert final["val_AP50"] >= 0.90
    assert minutes < 15


@pytest.mark.bench
def test_yolo_grid(tmp_path):
    final, _ = train(tmp_path, "--model", "yolo-grid")
    assert final["val_AP50"] >= 0.80


@pytest.mark.bench
def test_hog_svm(tmp_path):
    final, _ = train(tmp_path, "--model", "hog-svm")
    assert final["val_AP50"] >= 0.85
