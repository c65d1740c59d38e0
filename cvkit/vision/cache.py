"""Decoded images kept in memory within one byte budget per process (torch-free).

Small datasets (the embedded ones, fixtures, most fine-tuning sets) are then decoded once per process instead of
once per epoch. A dataset keeps in a :class:`MemoryCache` what does not depend on the sample's random draws: the
decoded image (and its decoded annotation maps), the decoded *and resized* image where resizing is the first,
deterministic step of its transform, or the finished sample when nothing in it is random (evaluation). Cached
values are shared, never copied: whoever transforms them must not modify them in place.

All caches of a process draw on one budget, ``CVKIT_IMAGE_CACHE_MB`` (default 1024 MiB; 0 turns caching off).
When it is spent, the items that do not fit are decoded each time they are used and a warning says so once.
DataLoader worker processes each hold their own copy of the caches and of the budget.
"""

from __future__ import annotations

import os
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

    def take(self, size: int) -> bool:
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
        self.used = max(0, self.used - size)


_budget: Budget | None = None


def process_budget() -> Budget:
    """The budget every cache of this process shares (created on first use, from the environment)."""
    global _budget
    if _budget is None:
        _budget = Budget()
    return _budget


class MemoryCache:
    """``get(key, load)``: the kept value of ``key``, or ``load()``'s, kept while the budget allows.

    ``enabled=False`` makes every ``get`` call ``load`` (predicting over a stream of inputs keeps nothing)."""

    def __init__(self, enabled: bool = True, budget: Budget | None = None) -> None:
        self.enabled = enabled
        self.budget = budget
        self.items: dict[Hashable, Any] = {}
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        if not self.enabled:
            return load()
        try:
            value = self.items[key]
        except KeyError:
            pass
        else:
            self.hits += 1
            return value
        self.misses += 1
        value = load()
        size = nbytes(value)
        budget = self.budget or process_budget()
        if budget.take(size):
            self.items[key] = value
            self.bytes += size
        return value

    def clear(self) -> None:
        (self.budget or process_budget()).give_back(self.bytes)
        self.items.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self.items)
