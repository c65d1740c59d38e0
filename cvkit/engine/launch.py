"""``--devices N``: start N training processes on this machine through torch.distributed's elastic launcher
(the machinery behind ``torchrun``). Each process joins the group from the environment the launcher sets."""

from __future__ import annotations

import json
import re
import signal
import socket
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from cvkit.console import info
from cvkit.engine.config import TrainConfig
from cvkit.errors import CvkitError


class DistributedFailure(CvkitError):
    """A distributed run that ended early; exit 130 when the cause was an interrupt (SIGINT/SIGTERM)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(cfg: TrainConfig, explicit: set[str]) -> dict[str, str]:
    import os

    from cvkit.console import set_quiet
    from cvkit.engine import train as training
    from cvkit.engine.dist import shutdown
    from cvkit.engine.train import Interrupted, train

    if os.environ.get("RANK", "0") != "0":
        set_quiet(True)
    try:
        result = {"run": str(train(cfg, explicit))}
    except Interrupted as exc:  # every rank stops at the same step (the stop flag is all-reduced): no rank hangs
        result = {"interrupted": str(exc.checkpoint), "rank": os.environ.get("RANK", "0"),
                  "signal": training.received_signal or ""}
    except BaseException:
        shutdown(wait=False)
        raise
    shutdown()
    return result


def launch(cfg: TrainConfig, explicit: set[str]) -> None:
    import os

    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    if os.environ.get("TORCHELASTIC_RUN_ID") or int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from cvkit.errors import UsageError

        raise UsageError(f"--devices {cfg.devices} cannot be used inside torchrun (or another launcher that sets "
                         "WORLD_SIZE): torchrun already started this process; set the processes per node with "
                         "torchrun's --nproc-per-node and drop --devices")
    n = cfg.devices
    config = LaunchConfig(
        min_nodes=1, max_nodes=1, nproc_per_node=n, run_id=uuid.uuid4().hex[:8], rdzv_backend="c10d",
        rdzv_endpoint=f"127.0.0.1:{_free_port()}", max_restarts=0, monitor_interval=0.5,
        start_method="spawn",
    )
    info(f"launching {n} training processes")
    started = time.time()
    try:
        results = elastic_launch(config, _worker)(replace(cfg, devices=1), explicit)
    except Exception as exc:  # ChildFailedError carries each rank's failure
        raise _failure(exc, cfg, started) from None
    stopped = [r for r in (results or {}).values() if isinstance(r, dict) and "interrupted" in r]
    if stopped:
        by = [f"rank {r['rank']} got {r['signal']}" for r in stopped if r.get("signal")]
        cause = ", ".join(by) if by else "SIGINT or SIGTERM"
        raise DistributedFailure(f"distributed training interrupted ({cause}); resume with: "
                                 f"cvkit train --resume {stopped[0]['interrupted']}", exit_code=130)


def _failure(exc: Exception, cfg: TrainConfig, started: float) -> DistributedFailure:
    """One line from the elastic agent's failure record: the rank, the signal or the error, the resume command."""
    failures = getattr(exc, "failures", None) or {}
    sigval = getattr(exc, "sigval", None)  # the launcher itself got a signal (elastic's SignalException)
    if sigval is not None:
        checkpoint = _checkpoint("", cfg, started)
        resume = f"; resume with: cvkit train --resume {checkpoint}" if checkpoint else ""
        return DistributedFailure(f"distributed training interrupted: the launcher got {signal.Signals(sigval).name}"
                                  f"{resume}", exit_code=130)
    if not failures:
        return DistributedFailure(f"distributed training failed: {_last_line(str(exc))}")
    rank, first = min(failures.items(), key=lambda kv: (getattr(kv[1], "timestamp", 0), kv[0]))
    text = _last_line(_message(getattr(first, "message", "")))
    exitcode = getattr(first, "exitcode", 1)
    checkpoint = _checkpoint(text, cfg, started)
    resume = f"; resume with: cvkit train --resume {checkpoint}" if checkpoint else ""
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        interrupt = -exitcode in (signal.SIGINT, signal.SIGTERM)
        what = "interrupted" if interrupt else "failed"
        return DistributedFailure(f"distributed training {what}: rank {rank} ended by {name}{resume}",
                          exit_code=130 if interrupt else 1)
    if text.startswith("Interrupted:"):
        return DistributedFailure(f"distributed training interrupted (rank {rank}){resume}", exit_code=130)
    resume = resume if "--resume" not in text else ""
    return DistributedFailure(f"distributed training failed on rank {rank}: {text}{resume}")


def _message(raw: Any) -> str:
    """The failure text, whether the agent gives a string, a JSON string or the error file's dict."""
    if isinstance(raw, str) and raw.lstrip().startswith("{"):
        try:
            raw = json.loads(raw)
        except ValueError:
            return raw
    while isinstance(raw, dict):
        raw = raw.get("message", "")
    return str(raw)


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "unknown error"


def _checkpoint(text: str, cfg: TrainConfig, started: float) -> str | None:
    """The last.pt to resume from: named in the message, or in --out, or the numbered run folder of this launch."""
    found = re.search(r"--resume (\S+)", text)
    if found:
        return found.group(1)
    if cfg.out:
        return str(Path(cfg.out) / "last.pt")
    candidates = [p for p in (Path("runs") / cfg.task).glob("*/last.pt") if p.stat().st_mtime >= started]
    return str(max(candidates, key=lambda p: p.stat().st_mtime)) if candidates else None
