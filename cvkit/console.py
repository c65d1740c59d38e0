"""Logging, warnings and progress bars, all on stderr (stdout carries results only)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from rich.console import Console

err = Console(stderr=True, highlight=False, soft_wrap=True)
_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def info(message: str) -> None:
    if not _quiet:
        err.print(message, markup=False)


def warn(message: str) -> None:
    """Warnings show even with --quiet, except in the non-zero ranks of a distributed run (rank 0 speaks)."""
    if os.environ.get("RANK", "0") != "0":
        return
    err.print(f"warning: {message}", style="yellow", markup=False)


class _NullBar:
    def advance(self, n: int = 1, **fields: Any) -> None:
        pass

    def update(self, **fields: Any) -> None:
        pass


class _Bar:
    def __init__(self, progress: Any, task_id: Any) -> None:
        self.progress, self.task_id = progress, task_id

    def advance(self, n: int = 1, **fields: Any) -> None:
        self.progress.update(self.task_id, advance=n, **fields)

    def update(self, **fields: Any) -> None:
        self.progress.update(self.task_id, **fields)


def progress_shown(enabled: bool = True) -> bool:
    """Whether :func:`progress_bar` draws (worth counting a total first): stderr is a terminal, not --quiet,
    CVKIT_PROGRESS is not 0."""
    return enabled and not _quiet and os.environ.get("CVKIT_PROGRESS", "1") != "0" and sys.stderr.isatty()


def rate_text(speed: float | None) -> str:
    """Items per second as the bar shows it."""
    if not speed:
        return ""
    return f"{speed:.1f}/s" if speed < 100 else f"{speed:,.0f}/s"


@contextlib.contextmanager
def progress_bar(description: str, total: int | None, enabled: bool = True) -> Iterator[Any]:
    """A rich progress bar on stderr (count, rate, and ETA when ``total`` is known); silent when stderr is not a
    terminal or CVKIT_PROGRESS=0."""
    if not progress_shown(enabled):
        yield _NullBar()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(rate_text(task.speed))

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(), TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"), console=err, transient=True,
    ) as progress:
        yield _Bar(progress, progress.add_task(description, total=total, status=""))
