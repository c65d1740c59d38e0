"""Device selection and CPU thread sizing."""

from __future__ import annotations

import os

import torch

from cvkit.errors import UsageError


def select_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """``auto`` picks CUDA when present (one GPU per process in distributed runs), else CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and torch.cuda.is_available():
        name = f"cuda:{local_rank % torch.cuda.device_count()}"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"--device {name!r}: expected auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) present")
        torch.cuda.set_device(device)
    return device


def configure_threads(world_size: int = 1) -> None:
    """One intra-op thread pool per process sized to the cores it may use (oversubscription is very costly)."""
    if "OMP_NUM_THREADS" in os.environ:
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    torch.set_num_threads(max(1, cores // max(1, world_size)))
