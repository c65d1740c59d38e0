"""DataLoaders the loops share: resumable seeded sampling, per-sample seeding and bad-input handling.

Every training sample is drawn with its own seed derived from (run seed, epoch, position), so the
augmentation a sample receives does not depend on worker count, worker scheduling or on whether the run
was interrupted and resumed mid-epoch. With worker processes, each batch also carries the random state its
worker was left in, and the loop's process takes it over when the batch arrives: the model's own draws
(dropout, proposal sampling) then follow the same streams as with ``--workers 0``, so results do not depend on
the number of workers either.

Without worker processes, a dataset may still load ahead: :func:`decode_ahead` runs its ``decode_ahead(index)``
(decoding and the other steps that draw nothing at random) on a background thread, in the epoch's order, while the
training step computes; the step then finds those samples' decoded images in the dataset's cache.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler, get_worker_info

from cvkit.errors import BadInput
from cvkit.task import Batch, TaskDataset


@dataclass
class Skipped:
    """Stands in for a sample that raised BadInput under --skip-bad."""

    index: int
    message: str


class EpochSampler(Sampler):
    """Yields ``(index, sample_seed)`` for one epoch of one rank.

    Shuffled with a generator seeded by (seed, epoch); sharded ``rank::world`` after padding to a multiple of
    ``world`` when ``pad`` (training: equal step counts on every rank) or without padding (evaluation: every
    sample exactly once). ``start`` skips the first positions of this rank's share (mid-epoch resume).
    """

    def __init__(self, length: int, shuffle: bool, seed: int = 0, epoch: int = 0, rank: int = 0,
                 world: int = 1, pad: bool = False, start: int = 0) -> None:
        self.length, self.shuffle, self.seed, self.epoch = length, shuffle, seed, epoch
        self.rank, self.world, self.pad, self.start = rank, world, pad, start

    def _order(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.length, generator=g).tolist()
        else:
            order = list(range(self.length))
        if self.pad and self.world > 1 and order:
            extra = (-len(order)) % self.world
            order += order[:extra]
        return order[self.rank :: self.world]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        mine = self._order()
        for pos in range(self.start, len(mine)):
            yield mine[pos], (self.seed * 1_000_003 + self.epoch) * 1_000_033 + pos * self.world + self.rank

    def __len__(self) -> int:
        return max(0, len(self._order()) - self.start)


class SafeDataset(torch.utils.data.Dataset):
    """Wraps a TaskDataset: seeds each sample, and turns BadInput into Skipped when skipping is allowed."""

    def __init__(self, dataset: TaskDataset, skip_bad: bool) -> None:
        self.dataset, self.skip_bad = dataset, skip_bad
        self.seeded = getattr(dataset, "random_transforms", True)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int] | int) -> Any:
        index, seed = key if isinstance(key, tuple) else (key, None)
        if seed is not None and self.seeded:
            seed %= 2**63
            # the CPU generator alone: torch.manual_seed also walks every accelerator backend (~40x slower)
            torch.random.default_generator.manual_seed(seed)
            random.seed(seed)
            np.random.seed(seed % 2**32)
        try:
            return index, self.dataset[index]
        except BadInput as exc:
            if not self.skip_bad:
                raise
            return Skipped(index, str(exc))


RandomState = tuple[torch.Tensor, Any, Any]  # torch CPU generator, python random, numpy global


def random_state() -> RandomState:
    return torch.random.default_generator.get_state(), random.getstate(), np.random.get_state()


def set_random_state(state: RandomState) -> None:
    torch.random.default_generator.set_state(state[0])
    random.setstate(state[1])
    np.random.set_state(state[2])


@dataclass
class Collator:
    """Task collate that drops skipped samples; the batch remembers them so the loop can count them.

    In a worker process of a seeded dataset it also returns the random state the batch left behind
    (:class:`SeededLoader` hands it to the main process)."""

    collate: Callable[[list[Any]], Batch]
    skipped: list[Skipped] = field(default_factory=list)
    seeded: bool = False

    def __call__(self, samples: list[Any]) -> tuple[Batch | None, list[Skipped], RandomState | None]:
        good = [s for s in samples if not isinstance(s, Skipped)]
        bad = [s for s in samples if isinstance(s, Skipped)]
        batch = None
        if good:
            batch = self.collate([sample for _, sample in good])
            batch.indices = [index for index, _ in good]
        state = random_state() if self.seeded and get_worker_info() is not None else None
        return batch, bad, state


class SeededLoader(DataLoader):
    """Yields ``(batch or None, skipped)``; a batch made in a worker brings the worker's random state into this
    process, as if the batch had been made here."""

    def __iter__(self) -> Iterator[tuple[Batch | None, list[Skipped]]]:  # type: ignore[override]
        for batch, bad, state in super().__iter__():
            if state is not None:
                set_random_state(state)
            yield batch, bad


def make_loader(dataset: TaskDataset, collate: Callable[[list[Any]], Batch], batch_size: int, sampler: Sampler,
                workers: int, skip_bad: bool, pin_memory: bool = False) -> DataLoader:
    safe = SafeDataset(dataset, skip_bad)
    return SeededLoader(
        safe,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        collate_fn=Collator(collate, seeded=safe.seeded),
        pin_memory=pin_memory,
        persistent_workers=False,
        prefetch_factor=4 if workers > 0 else None,
    )


class DecodeAhead:
    """Daemon threads (``threads``, one by default) calling ``work(index)`` for the indices in turn, each taking
    the next one not yet taken, until ``work`` returns False (the dataset's cache is full) or :meth:`stop`.
    Errors are left for the step, which meets them when it loads that sample."""

    def __init__(self, work: Callable[[int], bool], indices: list[int], threads: int = 1) -> None:
        self._stop = threading.Event()
        self._next = iter(indices)
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(work,), daemon=True, name="cvkit-decode-ahead")
                         for _ in range(max(1, threads))]
        for thread in self._threads:
            thread.start()

    def _run(self, work: Callable[[int], bool]) -> None:
        while not self._stop.is_set():
            with self._lock:
                index = next(self._next, None)
            if index is None:
                return
            try:
                if not work(index):
                    self._stop.set()  # the cache is full: no thread goes on
                    return
            except Exception:  # noqa: BLE001 - the training step reports it with the file's name
                continue

    def stop(self) -> None:
        """Stop after the sample being loaded now."""
        self._stop.set()
        self.stop_when_done()

    def stop_when_done(self) -> None:
        """Wait until every index is loaded (or the dataset said stop)."""
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> DecodeAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def decode_ahead(dataset: TaskDataset, sampler: Sampler, workers: int) -> AbstractContextManager[Any]:
    """Start loading the epoch's samples ahead when the dataset can (``decode_ahead(index) -> bool``, which must
    draw nothing at random and be safe beside ``__getitem__``) and no worker process does the loading; leaving the
    returned context stops it. ``dataset.decode_ahead_threads`` (1 when absent) threads do it: more than one pays
    only where decoding mostly runs outside the GIL (OpenCV's video decoder: ``cvkit train video``'s first epoch
    waited on data half its time with one thread, a tenth with two) and costs the steps time where it does not
    (Pillow's decode and resize of small images: detect's and pose's first-epoch waits grew by a third)."""
    work = getattr(dataset, "decode_ahead", None)
    if workers > 0 or work is None:
        return nullcontext()
    return DecodeAhead(work, [index for index, _ in sampler], int(getattr(dataset, "decode_ahead_threads", 1)))


def auto_workers(device_type: str, world: int = 1) -> tuple[int, int]:
    """``--workers auto``: ``(loader workers, intra-op threads)`` for one process of ``world``.

    On CPU the process's share of the cores is split: one core decodes and augments (a worker process, so that
    the data is ready when a step ends), the rest compute; with a single core everything stays in-process. On a
    GPU the compute threads matter little: every core but one of the share decodes, up to 8."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    share = max(1, cores // max(1, world))
    if device_type == "cuda":
        return min(8, max(1, share - 1)), 1
    if share < 2:
        return 0, 1
    return 1, share - 1


def workers_for(workers: int | str, device_type: str, world: int = 1) -> int:
    """The loader processes for ``--workers`` (a count, or ``auto``); ``auto`` also sizes this process's
    intra-op threads to the cores left for computing, unless OMP_NUM_THREADS says otherwise."""
    if workers != "auto":
        return int(workers)
    count, threads = auto_workers(device_type, world)
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(threads)
    return count


class SkipCounter:
    """Counts skipped inputs and warns once per file.

    ``preset`` counts the annotations the dataset loaders already skipped (and warned about) while parsing
    (``RawSplit.skipped``); they are part of ``count`` but not of ``seen``."""

    def __init__(self, warn: Callable[[str], None], preset: int = 0) -> None:
        self.warn = warn
        self.seen: set[str] = set()
        self.preset = preset

    def add(self, skipped: list[Skipped]) -> None:
        for s in skipped:
            if s.message not in self.seen:
                self.seen.add(s.message)
                self.warn(f"skipped: {s.message}")

    @property
    def count(self) -> int:
        return self.preset + len(self.seen)
