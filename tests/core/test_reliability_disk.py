"""Defect 6: a full disk (ENOSPC) or quota (EDQUOT) gives one line naming the path, and no temporary is left."""

from __future__ import annotations

import errno
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from cvkit.errors import CvkitError
from cvkit.io.atomic import torch_save, write_text
from cvkit.io.writers import make_writer
from tests.conftest import cvkit


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs (needs root and mount permission; skipped elsewhere)."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(folder: Path, leave: int) -> None:
    """Fill the file system of ``folder`` until about ``leave`` bytes remain."""
    import os

    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    (folder / "filler").write_bytes(b"\0" * max(0, free - leave))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


def test_checkpoint_save_on_a_full_disk_names_the_file(tiny_fs: Path) -> None:
    target = tiny_fs / "run" / "last.pt"
    with pytest.raises(CvkitError, match=r"run/last\.pt: no space left on device") as info:
        torch_save({"w": torch.zeros(200_000)}, target)  # 800 KB into 256 KiB
    assert "\n" not in str(info.value)
    assert _leftovers(tiny_fs) == [] and not target.exists()


def test_text_write_on_a_full_disk_names_the_file_and_keeps_the_old_one(tiny_fs: Path) -> None:
    target = tiny_fs / "metrics.csv"
    write_text(target, "old\n")
    with pytest.raises(CvkitError, match=r"metrics\.csv: no space left on device"):
        write_text(target, "x" * 400_000)
    assert target.read_text() == "old\n" and _leftovers(tiny_fs) == []


def test_predictions_writer_removes_its_temporary_when_the_disk_fills(tiny_fs: Path) -> None:
    out = tiny_fs / "preds.jsonl"
    writer = make_writer("jsonl", str(out))
    record = {"source": "x.png", "task": "classify", "topk": [{"label": "a" * 1000, "index": 0, "score": 0.5}]}
    with pytest.raises(CvkitError, match=r"preds\.jsonl: no space left on device"):
        try:
            for _ in range(1000):
                writer.write(record, [], [])
                writer.flush()
        finally:
            writer.close(ok=False)
    assert _leftovers(tiny_fs) == [] and not out.exists()


def test_a_failing_close_still_removes_the_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "preds.jsonl"
    writer = make_writer("jsonl", str(out))
    writer.write({"source": "x"}, [], [])

    def full(fd: int) -> None:
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.setattr("os.fsync", full)
    with pytest.raises(CvkitError, match=r"preds\.jsonl: disk quota exceeded"):
        writer.close(ok=True)
    assert list(tmp_path.iterdir()) == []


def test_predict_on_a_full_disk_one_line_and_no_temporary(digits_run: Path, tiny_fs: Path) -> None:
    spec = json.loads((digits_run / "summary.json").read_text())["dataset"]["spec"]
    val = Path(spec.split(":", 1)[1]) / "val"
    _fill(tiny_fs, 2048)
    proc = cvkit("predict", "--weights", str(digits_run / "best.pt"), str(val), "--output",
                 str(tiny_fs / "preds.jsonl"))
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "preds.jsonl: no space left on device" in errors[0], proc.stderr[-2000:]
    assert _leftovers(tiny_fs) == [] and not (tiny_fs / "preds.jsonl").exists()


@pytest.mark.bench
def test_training_on_a_full_disk_one_line_naming_the_checkpoint(tiny_fs: Path) -> None:
    _fill(tiny_fs, 24 * 1024)
    out = tiny_fs / "run"
    proc = cvkit("train", "classify", "--epochs", "1", "--out", str(out))
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "no space left on device" in errors[0] and str(out) in errors[0], proc.stderr[-2000:]
    assert "enforce fail" not in proc.stderr
    assert _leftovers(tiny_fs) == []
