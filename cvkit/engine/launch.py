"""``--devices N``: start N training processes on this machine through torch.distributed's elastic launcher
(the machinery behind ``torchrun``). Each process joins the group from the environment the launcher sets."""

from __future__ import annotations

import socket
import uuid
from dataclasses import replace

from cvkit.console import info
from cvkit.engine.config import TrainConfig
from cvkit.errors import CvkitError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(cfg: TrainConfig, explicit: set[str]) -> str:
    import os

    from cvkit.console import set_quiet
    from cvkit.engine.dist import shutdown
    from cvkit.engine.train import train

    if os.environ.get("RANK", "0") != "0":
        set_quiet(True)
    try:
        return str(train(cfg, explicit))
    finally:
        shutdown()


def launch(cfg: TrainConfig, explicit: set[str]) -> None:
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    n = cfg.devices
    config = LaunchConfig(
        min_nodes=1, max_nodes=1, nproc_per_node=n, run_id=uuid.uuid4().hex[:8], rdzv_backend="c10d",
        rdzv_endpoint=f"127.0.0.1:{_free_port()}", max_restarts=0, monitor_interval=0.5,
        start_method="spawn",
    )
    info(f"launching {n} training processes")
    try:
        results = elastic_launch(config, _worker)(replace(cfg, devices=1), explicit)
    except Exception as exc:  # ChildFailedError carries each rank's failure
        failures = getattr(exc, "failures", {})
        first = next(iter(failures.values()), None)
        msg = getattr(first, "message", None) or str(exc)
        raise CvkitError(f"distributed training failed: {str(msg).strip().splitlines()[-1][:300]}") from None
    del results  # rank 0 has reported the run folder
