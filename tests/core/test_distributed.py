"""Distributed data-parallel on CPU (gloo, 2 processes): exact single-process metrics, and a run that learns."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import torch
import torch.distributed as tdist
import torch.multiprocessing as mp

from tests.conftest import cvkit


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _eval_rank(rank: int, world: int, port: int, weights: str, batch_size: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    tdist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    from cvkit.checkpoint import load_model
    from cvkit.data import load_split
    from cvkit.engine.dist import DistContext, shutdown
    from cvkit.engine.evaluate import evaluate_model

    task, model, ckpt = load_model(weights)
    dataset = task.dataset(load_split(task, ckpt.info.spec, "val"), ckpt.model, train=False)
    # 360 samples, batch 7 per rank: the last batches are ragged and the split does not divide evenly
    result = evaluate_model(task, model, dataset, torch.device("cpu"), batch_size, dist=DistContext(rank, world))
    if rank == 0:
        Path(out).write_text(json.dumps({"metrics": result.metrics, "n": result.num_samples}))
    shutdown()


def test_two_process_eval_equals_single_process(digits_run: Path, tmp_path: Path) -> None:
    single = json.loads(cvkit("eval", "--weights", str(digits_run / "best.pt"), "--json", check=True).stdout)
    out = tmp_path / "dist.json"
    mp.spawn(_eval_rank, args=(2, _port(), str(digits_run / "best.pt"), 7, str(out)), nprocs=2, join=True)
    dist = json.loads(out.read_text())
    assert dist["n"] == single["num_samples"] == 360
    assert dist["metrics"] == single["metrics"]


def test_devices_2_trains_and_improves(tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    proc = cvkit("train", "classify", "--devices", "2", "--epochs", "2", "--out", str(out), check=True)
    assert "launching 2 training processes" in proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2
    rows = (out / "metrics.csv").read_text().splitlines()
    assert len(rows) == 3
    assert summary["final"]["val_top1"] > 0.8
    assert summary["final"]["train_loss"] < 1.0
