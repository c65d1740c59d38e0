"""The prepared GPU benchmark runs end to end (at toy sizes, on the CPU) and prints its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.bench
def test_gpu_bench_smoke(tmp_path):
    out = tmp_path / "table.md"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu.py"), "--smoke", "--only", "predict",
                           "train", "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    table = out.read_text()
    for row in ("eager fp32", "channels-last bf16", "torch.compile", "onnxruntime", "bf16 autocast"):
        assert row in table
