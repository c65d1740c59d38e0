"""Multi-node training through torchrun: two "nodes" on this machine (two torchrun agents meeting at one c10d
rendezvous on 127.0.0.1, gloo on CPU) train exactly as one node with two processes.

Why weights are compared, not only metrics: both runs have world size 2, the same rank-ordered data split
(``rank::world``) and the same seeded initialisation; DDP averages the two ranks' gradients with one gloo
all-reduce of two addends, and a + b == b + a in floating point, so the weights must be bit-identical whichever
agent becomes node 0. Equal weights imply equal metrics, which are checked too.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cvkit.errors import UsageError
from tests.conftest import cvkit

TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]
TRAIN = ["-m", "cvkit", "train", "classify", "--epochs", "1", "--batch-size", "64", "--seed", "2"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _two_nodes(out: Path, *extra: str, timeout: float = 600) -> list[subprocess.CompletedProcess]:
    """Start two torchrun agents (--nnodes 2, one process each) that rendezvous on 127.0.0.1; wait for both."""
    port = _port()
    cmd = [*TORCHRUN, "--nnodes", "2", "--nproc-per-node", "1", "--rdzv-backend", "c10d", "--rdzv-endpoint",
           f"127.0.0.1:{port}", "--rdzv-id", f"cvkit-test-{port}", *TRAIN, "--out", str(out), *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    done = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=timeout)
        done.append(subprocess.CompletedProcess(cmd, p.returncode, stdout, stderr))
    return done


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "last.pt", weights_only=True)["state_dict"]


def test_devices_refused_inside_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    from cvkit.engine.config import TrainConfig
    from cvkit.engine.launch import launch

    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "job7")
    with pytest.raises(UsageError, match="--devices 2 cannot be used inside torchrun.*--nproc-per-node"):
        launch(TrainConfig(task="classify", devices=2), set())


def test_two_nodes_write_one_run_folder(tmp_path: Path) -> None:
    """The short variant kept in the suite: a 2-node job trains, global rank 0 alone writes the run folder,
    and its checkpoint loads anywhere (weights_only)."""
    out = tmp_path / "run"
    nodes = _two_nodes(out)
    for p in nodes:
        assert p.returncode == 0, p.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["epochs"] == 1
    names = {p.name for p in out.iterdir() if not p.name.endswith(".png")}  # pictures and their data aside
    run = {"best.pt", "config.yaml", "last.pt", "metrics.csv", "summary.json"}
    assert run <= names and names - run <= {"val_batches.json", "confusion.json", "confidence_curves.json"}
    assert sum("run folder:" in p.stderr for p in nodes) == 1  # one report, from global rank 0
    assert _weights(out)


@pytest.mark.bench
def test_two_nodes_equal_one_node_two_processes(tmp_path: Path) -> None:
    """2 nodes x 1 process (torchrun, c10d rendezvous) == 1 node x 2 processes (--devices 2): same weights."""
    one = tmp_path / "one"
    cvkit(*TRAIN[2:], "--devices", "2", "--out", str(one), check=True, env={"OMP_NUM_THREADS": "1"})
    two = tmp_path / "two"
    for p in _two_nodes(two):
        assert p.returncode == 0, p.stderr[-3000:]
    a, b = _weights(one), _weights(two)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ra, rb = (json.loads((r / "summary.json").read_text())["final"] for r in (one, two))
    assert {k: v for k, v in ra.items() if k not in ("time", "data_wait")} == \
        {k: v for k, v in rb.items() if k not in ("time", "data_wait")}
