"""torch.distributed plumbing: one process per device, NCCL on GPUs and gloo on CPUs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as tdist


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order (just ``[obj]`` when not distributed)."""
        if not self.enabled:
            return [obj]
        out: list[Any] = [None] * self.world
        tdist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        if not self.enabled:
            return obj
        box = [obj]
        tdist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.enabled:
            tdist.barrier()

    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is true on at least one (e.g. an interrupt seen by one rank)."""
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0])
        tdist.all_reduce(t, op=tdist.ReduceOp.MAX)
        return bool(t.item())


def init_from_env(device_kind: str) -> DistContext:
    """Join the process group described by torchrun-style variables (RANK, WORLD_SIZE, LOCAL_RANK)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not tdist.is_initialized():
        backend = "nccl" if device_kind == "cuda" else "gloo"
        tdist.init_process_group(backend=backend)
    return DistContext(rank, world, local_rank)


def shutdown(wait: bool = True) -> None:
    """Leave the process group. With ``wait`` (the normal end) every rank meets at a barrier first, so rank 0,
    which hosts the rendezvous store, does not exit while another rank is still tearing down (gloo then aborts
    that rank with SIGABRT). After a failure ``wait=False``: the peers may be inside another collective."""
    if not tdist.is_initialized():
        return
    if wait:
        try:
            tdist.barrier()
        except RuntimeError:  # a peer already gone: nothing left to wait for
            pass
    tdist.destroy_process_group()
