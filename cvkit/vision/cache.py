"""Decoded images kept in memory within one byte budget per process (torch-free).

Small datasets (the embedded ones, fixtures, most fine-tuning sets) are then decoded once per process instead of
once per epoch. A dataset keeps in a :class:`MemoryCache` what does not depend on the sample's random draws: the
decoded image (and its decoded annotation maps), the decoded *and resized* image where resizing is the first,
deterministic step of its transform, or the finished sample when nothing in it is random (evaluation). Cached
values are shared, never copied: whoever transforms them must not modify them in place.

All caches of a process draw on one budget, ``CVKIT_IMAGE_CACHE_MB`` (default 1024 MiB; 0 turns caching off).
When it is spent, the items that do not fit are decoded each time they are used and a warning says so once.
DataLoader worker processes each hold their own copy of the caches and of the budget.

A cache may be filled ahead by a second thread (:meth:`MemoryCache.keep`, called by the training loop's decode-ahead
thread while the step computes): a key is then loaded once, by whichever thread claims it first, while the other
waits for it (:class:`Claims`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from cvkit.errors import UsageError

T = TypeVar("T")
BUDGET_ENV = "CVKIT_IMAGE_CACHE_MB"
DEFAULT_MB = 1024.0


def nbytes(value: Any) -> int:
    """Bytes held by the arrays in ``value``: tensors, numpy arrays, and tuples, lists and dicts of them."""
    if hasattr(value, "element_size") and hasattr(value, "numel"):  # torch.Tensor (no torch import here)
        return int(value.numel()) * int(value.element_size())
    if hasattr(value, "nbytes") and hasattr(value, "dtype"):  # numpy
        return int(value.nbytes)
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value)
    return 0


def budget_bytes() -> int:
    """The process-wide cache budget from ``CVKIT_IMAGE_CACHE_MB``."""
    text = os.environ.get(BUDGET_ENV, "").strip()
    if not text:
        return int(DEFAULT_MB * 2**20)
    try:
        mb = float(text)
    except ValueError:
        raise UsageError(f"{BUDGET_ENV}={text!r}: expected a number of MiB (0 turns the image cache off)") from None
    if mb < 0:
        raise UsageError(f"{BUDGET_ENV}={text!r}: expected a number of MiB >= 0")
    return int(mb * 2**20)


class Budget:
    """Bytes handed out to the caches of one process; warns once when an item does not fit."""

    def __init__(self, cap: int | None = None) -> None:
        self.cap = budget_bytes() if cap is None else int(cap)
        self.used = 0
        self.refused = 0
        self.warned = False
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        with self._lock:
            if self.used + size <= self.cap:
                self.used += size
                return True
            self.refused += 1
        if not self.warned and self.cap > 0:
            self.warned = True
            from cvkit.console import warn

            warn(f"the in-memory image cache is full ({self.used / 2**20:.1f} of {self.cap / 2**20:.1f} MiB): "
                 f"images beyond it are decoded again each epoch; set {BUDGET_ENV} to a larger budget (MiB) to "
                 "keep them, or to 0 to turn the cache off")
        return False

    def give_back(self, size: int) -> None:
        with self._lock:
            self.used = max(0, self.used - size)


_budget: Budget | None = None


def process_budget() -> Budget:
    """The budget every cache of this process shares (created on first use, from the environment)."""
    global _budget
    if _budget is None:
        _budget = Budget()
    return _budget


class Claims:
    """Keys some thread is loading now. ``claim(key)`` returns None when the caller now owns ``key`` (and must call
    ``release(key)`` when done, stored or not), else an event that is set when the owner is done."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[Hashable, threading.Event] = {}

    def __getstate__(self) -> dict[str, Any]:  # locks do not travel to worker processes; claims are per process
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]

    def claim(self, key: Hashable) -> threading.Event | None:
        with self._lock:
            event = self._events.get(key)
            if event is None:
                self._events[key] = threading.Event()
            return event

    def release(self, key: Hashable) -> None:
        with self._lock:
            event = self._events.pop(key, None)
        if event is not None:
            event.set()


class MemoryCache:
    """``get(key, load)``: the kept value of ``key``, or ``load()``'s, kept while the budget allows.

    ``enabled=False`` makes every ``get`` call ``load`` (predicting over a stream of inputs keeps nothing).
    ``keep(key, load)`` loads ahead from another thread; a key being loaded by one thread is waited for, not
    loaded twice."""

    def __init__(self, enabled: bool = True, budget: Budget | None = None) -> None:
        self.enabled = enabled
        self.budget = budget
        self.items: dict[Hashable, Any] = {}
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.claims = Claims()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_lock")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        if not self.enabled:
            return load()
        while True:
            try:
                value = self.items[key]
            except KeyError:
                pass
            else:
                self.hits += 1
                return value
            loading = self.claims.claim(key)
            if loading is None:
                break
            loading.wait()  # another thread loads it: use its value (or load it here if it could not keep it)
        self.misses += 1
        try:
            value = load()
            self._store(key, value)
        finally:
            self.claims.release(key)
        return value

    def keep(self, key: Hashable, load: Callable[[], Any]) -> bool:
        """Load ``key`` into the cache unless it is there or being loaded; False when the budget refused it (so a
        thread loading ahead can stop: what it loads next would not be kept either)."""
        if not self.enabled:
            return False
        if key in self.items or self.claims.claim(key) is not None:
            return True
        try:
            if key in self.items:  # stored between the check and the claim
                return True
            return self._store(key, load())
        finally:
            self.claims.release(key)

    def _store(self, key: Hashable, value: Any) -> bool:
        size = nbytes(value)
        with self._lock:
            if key in self.items:
                return True
            if not (self.budget or process_budget()).take(size):
                return False
            self.items[key] = value
            self.bytes += size
        return True

    def clear(self) -> None:
        (self.budget or process_budget()).give_back(self.bytes)
        self.items.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self.items)
