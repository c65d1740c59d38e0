"""Checkpoints load only as plain data: foreign files and code-running pickles are refused by name."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from tests.conftest import cvkit


class _RunsCode:
    def __reduce__(self):  # unpickling this would create a file
        return (Path.touch, (Path(self.marker),))


def test_malicious_pickle_is_refused_and_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = _RunsCode()
    evil.marker = str(marker)
    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        pickle.dump({"format": "cvkit-checkpoint", "x": evil}, fh)
    proc = cvkit("eval", "--weights", str(path))
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: {path}: ")
    assert "Traceback" not in proc.stderr
    assert not marker.exists()


def test_torch_file_that_is_not_ours(tmp_path: Path) -> None:
    path = tmp_path / "plain.pt"
    torch.save({"weight": torch.zeros(2)}, path)
    proc = cvkit("predict", "--weights", str(path), str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"error: {path}: not a cvkit checkpoint (no 'cvkit-checkpoint' marker); " \
                                  "train one with `cvkit train`"


def test_truncated_and_garbage_files(tmp_path: Path, digits_run: Path) -> None:
    data = (digits_run / "best.pt").read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: len(data) // 2])
    junk = tmp_path / "junk.pt"
    junk.write_text("hello")
    for path in (cut, junk):
        proc = cvkit("eval", "--weights", str(path))
        assert proc.returncode == 1 and proc.stderr.startswith(f"error: {path}: not a readable checkpoint")


def test_checkpoint_is_self_describing(digits_run: Path) -> None:
    raw = torch.load(digits_run / "best.pt", weights_only=True)
    assert raw["format"] == "cvkit-checkpoint"
    assert raw["task"] == "classify"
    assert raw["model"]["name"] == "mlp" and raw["model"]["img_size"] == 16
    assert raw["dataset"]["classes"] == [str(i) for i in range(10)]
    assert len(raw["model"]["mean"]) == 3
    assert raw["versions"]["torch"] == torch.__version__
    assert {"optimizer", "scheduler", "rng", "epoch", "step", "best", "config"} <= set(raw)


def test_wrong_task_is_named(digits_run: Path) -> None:
    proc = cvkit("eval", "detect", "--weights", str(digits_run / "best.pt"))
    assert proc.returncode in (1, 2)
    assert "classify" in proc.stderr and "Traceback" not in proc.stderr
