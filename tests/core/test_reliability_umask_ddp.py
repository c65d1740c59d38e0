"""Defect 9: outputs honour the umask; a DDP worker ended by a signal gives the rank, the signal and the resume
command (exit 130 for an interrupt), not the elastic agent's raw failure dict."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cvkit.io.atomic import torch_save, write_text
from cvkit.io.writers import make_writer


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_outputs_follow_the_umask(tmp_path: Path, umask: None, mask: int, mode: int) -> None:
    os.umask(mask)
    write_text(tmp_path / "a.txt", "x")
    torch_save({"w": 1}, tmp_path / "b.pt")
    writer = make_writer("jsonl", str(tmp_path / "c.jsonl"))
    writer.write({"source": "x"}, [], [])
    writer.close()
    for name in ("a.txt", "b.pt", "c.jsonl"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def _child_failed(tmp_path: Path, rank: int, exitcode: int, message: str | None) -> Exception:
    """The agent's error for a worker that exited with ``exitcode`` (negative: a signal), with the error file the
    worker wrote (``message``) or none."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure

    error_file = ""
    if message is not None:
        error_file = str(tmp_path / f"error{rank}.json")
        Path(error_file).write_text(json.dumps({"message": {"message": message, "extraInfo": {
            "py_callstack": "Traceback (most recent call last): ...", "timestamp": "1700000000"}}}))
    failure = ProcessFailure(local_rank=rank, pid=4242, exitcode=exitcode, error_file=error_file)
    return ChildFailedError("cvkit._worker", {rank: failure})


def _launch_raising(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    import torch.distributed.launcher.api as api

    from cvkit.engine.config import TrainConfig
    from cvkit.engine.launch import launch

    def fake(config: object, entry: object) -> object:
        def run(*args: object) -> None:
            raise exc
        return run

    monkeypatch.setattr(api, "elastic_launch", fake)
    launch(TrainConfig(task="classify", devices=2, out="runs/x"), set())


def test_a_worker_killed_by_sigterm_names_rank_signal_and_resume(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    from cvkit.errors import CvkitError

    with pytest.raises(CvkitError) as info:
        _launch_raising(monkeypatch, _child_failed(tmp_path, 1, -15, None))
    text = str(info.value)
    assert info.value.exit_code == 130
    assert "rank 1" in text and "SIGTERM" in text and "cvkit train --resume runs/x/last.pt" in text
    assert "{" not in text and "\n" not in text


def test_a_worker_interrupted_gracefully_reports_its_message(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    from cvkit.errors import CvkitError

    message = "Interrupted: interrupted; resume with: cvkit train --resume runs/x/last.pt"
    with pytest.raises(CvkitError) as info:
        _launch_raising(monkeypatch, _child_failed(tmp_path, 0, 1, message))
    assert info.value.exit_code == 130
    assert str(info.value) == ("distributed training interrupted (rank 0); resume with: "
                               "cvkit train --resume runs/x/last.pt")


def test_a_worker_failing_otherwise_gives_its_last_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from cvkit.errors import CvkitError

    with pytest.raises(CvkitError) as info:
        _launch_raising(monkeypatch, _child_failed(tmp_path, 1, 1, "BadInput: data/x.png: not a readable image"))
    assert info.value.exit_code == 1
    assert str(info.value) == ("distributed training failed on rank 1: BadInput: data/x.png: not a readable image; "
                               "resume with: cvkit train --resume runs/x/last.pt")


def test_every_rank_stopping_gracefully_exits_130_with_the_resume_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch.distributed.launcher.api as api

    from cvkit.engine.config import TrainConfig
    from cvkit.engine.launch import launch
    from cvkit.errors import CvkitError

    results = {0: {"interrupted": "runs/x/last.pt", "rank": "0", "signal": ""},
               1: {"interrupted": "runs/x/last.pt", "rank": "1", "signal": "SIGTERM"}}
    monkeypatch.setattr(api, "elastic_launch", lambda config, entry: lambda *args: results)
    with pytest.raises(CvkitError) as info:
        launch(TrainConfig(task="classify", devices=2, out="runs/x"), set())
    assert info.value.exit_code == 130
    assert str(info.value) == ("distributed training interrupted (rank 1 got SIGTERM); resume with: cvkit train "
                               "--resume runs/x/last.pt")


def test_sigterm_to_the_launcher_exits_130_with_the_resume_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    from torch.distributed.elastic.multiprocessing.api import SignalException

    from cvkit.errors import CvkitError

    with pytest.raises(CvkitError) as info:
        _launch_raising(monkeypatch, SignalException("Process 1 got signal: 15", sigval=signal.SIGTERM))
    assert info.value.exit_code == 130
    assert str(info.value) == ("distributed training interrupted: the launcher got SIGTERM; resume with: "
                               "cvkit train --resume runs/x/last.pt")
