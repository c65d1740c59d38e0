"""Bench (``make bench``): train Mask R-CNN on builtin:shapes through the CLI and report COCO mask and box AP.

Run it with ``.venv/bin/python -m pytest -m bench -s tests/plugins/instance/test_bench.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest


@pytest.mark.bench
def test_maskrcnn_small(tmp_path):
    env = {**os.environ, "CVKIT_CACHE": os.environ.get("CVKIT_BENCH_CACHE", str(tmp_path / "cache"))}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cvkit", "train", "instance", "--out", str(tmp_path / "run")], check=True,
                   env=env)
    minutes = (time.perf_counter() - start) / 60
    final = json.loads((tmp_path / "run" / "summary.json").read_text())["final"]
    print(f"\nmaskrcnn-small: mask AP50 {final['val_segm_AP50']:.3f}  mask AP {final['val_segm_AP']:.3f}  "
          f"box AP50 {final['val_bbox_AP50']:.3f}  {minutes:.1f} min (data + training + evaluation)")
    assert final["val_segm_AP50"] > 0.1
