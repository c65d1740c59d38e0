"""What keeps training from waiting on data: the bounded in-memory image cache, and worker processes whose batches
bring their random state along (so the number of workers changes no result) and ``--workers auto``'s plan."""

from __future__ import annotations

import random
import threading
import time

import numpy as np
import pytest
import torch

from cvkit.engine.loader import EpochSampler, auto_workers, make_loader
from cvkit.errors import UsageError
from cvkit.task import Batch, TaskDataset
from cvkit.vision import cache as cache_mod
from cvkit.vision.cache import Budget, MemoryCache, budget_bytes, nbytes


def test_cache_keeps_values_within_the_cap_and_warns_once(capfd):
    budget = Budget(cap=3 * 1600)  # three 20x20 float32 arrays
    cache = MemoryCache(budget=budget)
    loads = []

    def load(i):
        loads.append(i)
        return np.full((20, 20), i, np.float32)

    first = [cache.get(i, lambda i=i: load(i)) for i in range(5)]
    again = [cache.get(i, lambda i=i: load(i)) for i in range(5)]
    assert loads == [0, 1, 2, 3, 4, 3, 4]  # the first three were kept, the two over the cap decoded again
    assert len(cache) == 3 and cache.bytes == budget.used == 4800 and budget.refused == 4
    assert all(a is b for a, b in zip(first[:3], again[:3], strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    err = capfd.readouterr().err
    assert err.count("image cache is full") == 1 and "CVKIT_IMAGE_CACHE_MB" in err
    cache.clear()
    assert budget.used == 0 and len(cache) == 0


def test_caches_share_one_budget_and_can_be_off():
    budget = Budget(cap=100)
    a, b = MemoryCache(budget=budget), MemoryCache(budget=budget)
    a.get("x", lambda: np.zeros(80, np.uint8))
    b.get("y", lambda: np.zeros(80, np.uint8))  # does not fit beside a's
    assert len(a) == 1 and len(b) == 0 and budget.used == 80
    off = MemoryCache(enabled=False, budget=budget)
    calls = []
    for _ in range(3):
        off.get("z", lambda: calls.append(1) or np.zeros(1))
    assert len(calls) == 3 and len(off) == 0


def test_nbytes_counts_tensors_arrays_and_containers():
    value = (torch.zeros(3, 4, dtype=torch.float32), {"m": np.zeros((2, 5), np.uint8), "k": [torch.ones(2)]}, "s")
    assert nbytes(value) == 48 + 10 + 8


def test_budget_from_environment(monkeypatch):
    monkeypatch.setenv("CVKIT_IMAGE_CACHE_MB", "1.5")
    assert budget_bytes() == int(1.5 * 2**20)
    monkeypatch.setenv("CVKIT_IMAGE_CACHE_MB", "0")
    off = MemoryCache(budget=Budget())
    off.get(1, lambda: np.zeros(1))
    assert off.budget.cap == 0 and len(off) == 0
    monkeypatch.setenv("CVKIT_IMAGE_CACHE_MB", "lots")
    with pytest.raises(UsageError, match="CVKIT_IMAGE_CACHE_MB='lots'"):
        budget_bytes()
    monkeypatch.delenv("CVKIT_IMAGE_CACHE_MB")
    assert budget_bytes() == int(cache_mod.DEFAULT_MB * 2**20)


class Noisy(TaskDataset):
    """Samples made of draws from all three global generators (like a random augmentation)."""

    def __len__(self) -> int:
        return 24

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.tensor([index, float(torch.rand(())), random.random(), float(np.random.rand())])

    def source(self, index: int) -> str:
        return str(index)

    def target(self, index: int) -> None:
        return None


def _collate(samples: list[torch.Tensor]) -> Batch:
    return Batch(inputs=torch.stack(samples), targets=None, indices=[], meta=[])


def _epoch(workers: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Batches of a seeded epoch and, after each, a draw standing in for the model's dropout."""
    torch.manual_seed(5)
    loader = make_loader(Noisy(), _collate, 5, EpochSampler(24, True, seed=3, epoch=1), workers, False)
    batches, draws = [], []
    for batch, skipped in loader:
        assert skipped == []
        batches.append(batch.inputs)
        draws.append(torch.cat([torch.rand(3), torch.tensor([random.random(), np.random.rand()])]))
    return batches, draws


def test_worker_batches_and_the_draws_after_them_equal_in_process_ones():
    inline_batches, inline_draws = _epoch(0)
    worker_batches, worker_draws = _epoch(2)
    assert len(inline_batches) == 5
    for a, b in zip(inline_batches, worker_batches, strict=True):
        assert torch.equal(a, b)
    for a, b in zip(inline_draws, worker_draws, strict=True):
        assert torch.equal(a, b)


def test_auto_workers_gives_one_core_to_data_on_cpu(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(2)), raising=False)
    assert auto_workers("cpu") == (1, 1)
    assert auto_workers("cpu", world=2) == (0, 1)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert auto_workers("cpu") == (1, 15)
    assert auto_workers("cuda") == (8, 1)
    assert auto_workers("cuda", world=8) == (1, 1)


def test_workers_option_takes_a_count_or_auto(monkeypatch):
    from cvkit.engine.config import TrainConfig
    from cvkit.engine.loader import workers_for

    assert TrainConfig("classify", workers="3").workers == 3
    assert TrainConfig("classify", workers="Auto").workers == "auto"
    for bad in ("-1", "many", 1.5):
        with pytest.raises(UsageError, match="--workers"):
            TrainConfig("classify", workers=bad)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(4)), raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    threads = torch.get_num_threads()
    try:
        assert workers_for(2, "cpu") == 2 and torch.get_num_threads() == threads  # a count changes no threads
        assert workers_for("auto", "cpu") == 1 and torch.get_num_threads() == 3
        monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's thread count wins
        torch.set_num_threads(2)
        assert workers_for("auto", "cpu") == 1 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)


def test_a_bad_workers_value_is_one_line_before_any_work(tmp_path):
    from tests.conftest import cvkit

    proc = cvkit("train", "classify", "--workers", "lots", "--out", str(tmp_path / "run"))
    assert proc.returncode == 2
    expected = "error: --workers 'lots': expected a number of worker processes or auto"
    assert proc.stderr.strip().splitlines() == [expected]
    assert not (tmp_path / "run").exists()


def test_a_key_loaded_ahead_is_loaded_once_and_waited_for():
    """A decode-ahead thread holding a key makes the step wait for that value instead of decoding it again."""
    import threading
    import time

    c = MemoryCache(budget=Budget(cap=10_000))
    started, calls = threading.Event(), []

    def slow() -> np.ndarray:
        calls.append("ahead")
        started.set()
        time.sleep(0.3)
        return np.ones(4)

    def step_load() -> np.ndarray:
        calls.append("step")
        return np.zeros(4)

    t = threading.Thread(target=lambda: c.keep("k", slow))
    t.start()
    assert started.wait(5)
    value = c.get("k", step_load)  # arrives while the other thread decodes it
    t.join()
    assert calls == ["ahead"] and value.tolist() == [1, 1, 1, 1] and c.hits == 1
    assert c.keep("k", step_load) and calls == ["ahead"]  # already kept: nothing loaded


def test_keep_reports_a_full_budget_and_the_step_still_loads():
    c = MemoryCache(budget=Budget(cap=16))
    assert c.keep(1, lambda: np.zeros(2))  # 16 bytes: fits
    assert not c.keep(2, lambda: np.zeros(2))  # refused: the thread loading ahead should stop
    assert c.get(2, lambda: np.full(2, 7.0)).tolist() == [7, 7] and len(c) == 1
    off = MemoryCache(enabled=False)
    assert not off.keep(1, lambda: np.zeros(1))


def test_caches_with_claims_pickle_for_worker_processes():
    import pickle

    c = MemoryCache(budget=Budget(cap=100))
    c.get(1, lambda: np.zeros(1))
    back = pickle.loads(pickle.dumps(c))
    assert back.get(1, lambda: np.ones(1)).tolist() == [0] and back.claims.claim(2) is None


def test_decode_ahead_runs_in_order_skips_errors_and_stops_when_told():
    from cvkit.engine.loader import DecodeAhead, decode_ahead

    seen: list[int] = []

    def work(i: int) -> bool:
        seen.append(i)
        if i == 2:
            raise ValueError("bad file")  # left for the step, which reports it with the file's name
        return i != 4  # 4: the cache is full

    DecodeAhead(work, [0, 1, 2, 3, 4, 5, 6], threads=1).stop_when_done()
    assert seen == [0, 1, 2, 3, 4]

    # two threads: each index taken once, in the epoch's order; a full cache stops both, at most the other
    # thread's index after the one that filled it
    seen.clear()
    held: list[DecodeAhead] = []

    def work_then_wait(i: int) -> bool:
        full = work(i)
        deadline = time.monotonic() + 5
        while i > 4 and not (held and held[0]._stop.is_set()) and time.monotonic() < deadline:
            time.sleep(0.001)  # an index after the full cache is still being loaded when the cache says full
        return full

    held.append(DecodeAhead(work_then_wait, [0, 1, 2, 3, 4, 5, 6, 7, 8], threads=2))
    held[0].stop_when_done()
    assert sorted(seen)[:5] == [0, 1, 2, 3, 4] and len(seen) == len(set(seen)) and len(seen) <= 6
    taken: list[int] = []
    lock = threading.Lock()

    def slow(i: int) -> bool:
        with lock:
            taken.append(i)
        time.sleep(0.001)
        return True

    DecodeAhead(slow, list(range(200))[::-1], threads=2).stop_when_done()
    assert sorted(taken) == list(range(200))  # every index once

    class WithAhead(Noisy):
        def decode_ahead(self, index: int) -> bool:
            return True

    sampler = EpochSampler(24, True, seed=3, epoch=1)
    assert not isinstance(decode_ahead(Noisy(), sampler, 0), DecodeAhead)  # nothing to load ahead
    assert not isinstance(decode_ahead(WithAhead(), sampler, 2), DecodeAhead)  # workers load ahead already
    with decode_ahead(WithAhead(), sampler, 0) as handle:
        assert isinstance(handle, DecodeAhead)
    assert not any(t.is_alive() for t in handle._threads)  # leaving the epoch stops it
