"""Defect 8 (second half): SIGTERM to predict exits 143 and leaves no partial output and no temporary."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_sigterm_to_predict_exits_143_with_nothing_partial(digits_run: Path, tmp_path: Path) -> None:
    import cv2
    import numpy as np

    img = tmp_path / "in.png"
    cv2.imwrite(str(img), np.zeros((8, 8, 3), np.uint8))
    out = tmp_path / "out" / "preds.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "cvkit", "predict", "--weights", str(digits_run / "best.pt"),
                             "-", "--output", str(out), "--batch-size", "1"],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not any(out.parent.glob(".preds.jsonl.*.tmp")):  # the writer is open: predict is running
            assert proc.poll() is None and time.time() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        proc.stdin.write(f"{img}\n")  # one input read, then predict waits for more on stdin
        proc.stdin.flush()
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err[-2000:]
    assert [ln for ln in err.splitlines() if ln.startswith("error:")] == ["error: terminated (SIGTERM)"]
    assert sorted(p.name for p in out.parent.iterdir()) == []


def test_orphan_temporaries_of_a_killed_predict_are_removed_by_the_next_one(tmp_path: Path) -> None:
    from cvkit.io.writers import make_writer

    out = tmp_path / "preds.jsonl"
    orphan = tmp_path / ".preds.jsonl.k1ll3d_9.tmp"  # left by kill -9
    orphan.write_text('{"source": "partial"')
    other = tmp_path / ".other.jsonl.abc.tmp"  # another output's: not ours to remove
    other.write_text("x")
    live = make_writer("jsonl", str(out))  # a writer still running keeps its temporary
    second = make_writer("jsonl", str(out))
    temporaries = sorted(p.name for p in tmp_path.glob(".preds.jsonl.*.tmp"))
    assert orphan.name not in temporaries and len(temporaries) == 2
    assert other.exists()
    second.write({"source": "a"}, [], [])
    second.close()
    live.close(ok=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.jsonl.abc.tmp", "preds.jsonl"]
