"""Benches (``make bench``): train segmentation models on builtin:shapes through the CLI and report val mIoU.

Run one with ``.venv/bin/python -m pytest -m bench -s tests/plugins/segment/test_bench.py -k unet``. Threads follow
the core's rule (all cores of the process, or ``OMP_NUM_THREADS``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


def train(tmp_path: Path, *args: str) -> tuple[dict, float]:
    env = {**os.environ, "CVKIT_CACHE": os.environ.get("CVKIT_BENCH_CACHE", str(tmp_path / "cache"))}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cvkit", "train", "segment", "--out", str(tmp_path / "run"), *args],
                   check=True, env=env)
    minutes = (time.perf_counter() - start) / 60
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    final = summary["final"]
    print(f"\n{' '.join(args) or 'defaults'}: mIoU {final['val_mIoU']:.3f}  pixel acc {final['val_pixel_acc']:.3f}  "
          f"{minutes:.1f} min (data + training + evaluation)")
    return final, minutes


@pytest.mark.bench
def test_unet_default(tmp_path):
    """The issue's target: U-Net mIoU >= 0.85 on builtin:shapes val (defaults: 8 epochs of 3,000 images)."""
    final, _ = train(tmp_path)
    assert final["val_mIoU"] >= 0.85


@pytest.mark.bench
def test_fcn(tmp_path):
    final, _ = train(tmp_path, "--model", "fcn")
    assert final["val_mIoU"] >= 0.5


@pytest.mark.bench
def test_deeplab(tmp_path):
    """Reported: from scratch at 64 px the MobileNetV3 DeepLab learns slowly (mIoU 0.25 after 5 epochs here); the
    check is only that it has learnt to tell classes apart (mean class accuracy above one-class guessing)."""
    final, _ = train(tmp_path, "--model", "deeplabv3_mobilenet_v3_large", "--epochs", "5")
    assert final["val_mean_acc"] > 0.25
