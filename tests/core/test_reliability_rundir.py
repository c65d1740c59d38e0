"""Defects 7 and 8: run folders are never clobbered, numbered folders are claimed race-free, and stale
temporaries of our own naming are removed when a run folder is opened again."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from cvkit.engine import rundir
from cvkit.errors import CvkitError


def test_an_existing_non_empty_out_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = rundir.new_run_dir("classify", str(out))
    (first / "best.pt").write_bytes(b"first")
    with pytest.raises(CvkitError, match=r"run: run folder exists and is not empty \(best.pt\); .*--exist-ok"):
        rundir.new_run_dir("classify", str(out))
    assert (out / "best.pt").read_bytes() == b"first"
    assert rundir.new_run_dir("classify", str(out), exist_ok=True) == out
    assert rundir.new_run_dir("classify", str(out), resume=True) == out


def test_an_empty_or_new_out_is_used(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert rundir.new_run_dir("classify", str(tmp_path / "empty")) == tmp_path / "empty"
    assert rundir.new_run_dir("classify", str(tmp_path / "a" / "b")).is_dir()


def test_a_run_folder_in_use_by_another_process_is_refused_even_with_exist_ok(tmp_path: Path) -> None:
    out = tmp_path / "busy"
    code = ("import sys, time; from cvkit.engine import rundir; rundir.new_run_dir('classify', sys.argv[1]); "
            "print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(CvkitError, match="in use by another training"):
            rundir.new_run_dir("classify", str(out), exist_ok=True)
    finally:
        holder.kill()
        holder.wait()
    assert rundir.new_run_dir("classify", str(out), exist_ok=True) == out  # the lock died with its process


def test_numbered_folders_skip_a_name_taken_between_listing_and_creating(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    real_mkdir = Path.mkdir
    raced: list[str] = []

    def racing_mkdir(self: Path, *args: object, **kwargs: object) -> None:
        if self.name == "train" and not raced:  # another process creates train/ just before us
            raced.append(self.name)
            real_mkdir(self)
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", racing_mkdir)
    assert rundir.new_run_dir("classify", None, base=tmp_path).name == "train2"


def test_eight_processes_at_once_get_eight_folders(tmp_path: Path) -> None:
    start = time.time() + 3.0
    code = ("import sys, time; from cvkit.engine import rundir; t = float(sys.argv[2]); "
            "time.sleep(max(0.0, t - time.time())); print(rundir.new_run_dir('classify', None, base=sys.argv[1]).name)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path), str(start)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(8)]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1][-300:] for r in results]
    names = sorted(r[0].strip() for r in results)
    assert names == sorted(["train"] + [f"train{n}" for n in range(2, 9)])


def test_stale_temporaries_are_removed_when_a_run_folder_is_opened_again(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    for name in (".last.pt.k2j3_x.tmp", ".best.pt.abc.tmp", ".metrics.csv.q.tmp", ".preds.jsonl.zz.tmp"):
        (out / name).write_bytes(b"partial")
    (out / "last.pt").write_bytes(b"ckpt")
    (out / ".notes.tmp").write_text("not ours")  # not of our naming: kept
    (out / "mine.tmp").write_text("not hidden: kept")
    rundir.new_run_dir("classify", str(out), resume=True)
    assert sorted(p.name for p in out.iterdir()) == [".notes.tmp", "last.pt", "mine.tmp"]


def test_a_folder_holding_only_stale_temporaries_counts_as_empty(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / ".last.pt.x1.tmp").write_bytes(b"partial")
    assert rundir.new_run_dir("classify", str(out)) == out
    assert list(out.iterdir()) == []


def test_a_second_training_into_the_same_out_is_refused(digits_run: Path) -> None:
    from tests.conftest import cvkit

    before = (digits_run / "best.pt").read_bytes()
    proc = cvkit("train", "classify", "--epochs", "1", "--out", str(digits_run))
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "run folder exists and is not empty" in errors[0] and "--exist-ok" in errors[0]
    assert (digits_run / "best.pt").read_bytes() == before
