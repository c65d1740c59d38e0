"""Plugin discovery. Importing this module must stay cheap: no torch, no plugin code.

A task plugin registers a :class:`TaskSpec` under the ``cvkit.tasks`` entry-point group. The spec is a
light description (names only); the heavy :class:`cvkit.task.Task` implementation it points to is
imported only when a command actually uses that task.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from cvkit.errors import CvkitError, UsageError

if TYPE_CHECKING:
    from cvkit.task import Task

GROUP = "cvkit.tasks"


@dataclass(frozen=True)
class TaskSpec:
    """What ``cvkit tasks`` shows about a plugin without importing torch or the plugin's models."""

    name: str
    summary: str
    implementation: str  # "package.module:ClassName" of the Task subclass
    models: tuple[str, ...] = ()
    dataset_formats: tuple[str, ...] = ()
    builtin_datasets: tuple[str, ...] = ()
    default_data: str = ""
    extra_models: str = ""  # a note such as "every torchvision classification model"


@dataclass
class PluginEntry:
    """One installed plugin as discovered from the entry points (``spec`` is None when it is broken)."""

    name: str
    package: str
    version: str
    value: str
    spec: TaskSpec | None = None
    error: str | None = None
    _task: Task | None = field(default=None, repr=False)

    @property
    def broken(self) -> bool:
        return self.spec is None


@lru_cache(maxsize=1)
def discover() -> dict[str, PluginEntry]:
    """All ``cvkit.tasks`` entry points, each loaded as far as its light spec (errors are kept, not raised)."""
    found: dict[str, PluginEntry] = {}
    for ep in entry_points(group=GROUP):
        dist = getattr(ep, "dist", None)
        entry = PluginEntry(
            name=ep.name,
            package=dist.metadata["Name"] if dist else "?",
            version=dist.version if dist else "?",
            value=ep.value,
        )
        try:
            spec = ep.load()
            if not isinstance(spec, TaskSpec):
                raise TypeError(f"{ep.value} is a {type(spec).__name__}, not a cvkit.plugin.TaskSpec")
            entry.spec = spec
        except Exception as exc:  # a broken plugin must not break the others
            entry.error = f"{type(exc).__name__}: {exc}"
        found[ep.name] = entry
    return found


def task_names() -> list[str]:
    return sorted(name for name, e in discover().items() if not e.broken)


def get_task(name: str) -> Task:
    """Import and instantiate the task plugin ``name`` (only this one)."""
    plugins = discover()
    if name not in plugins:
        known = ", ".join(task_names()) or "none installed"
        raise UsageError(f"unknown task {name!r} (installed tasks: {known})")
    entry = plugins[name]
    if entry.broken:
        raise CvkitError(f"task plugin {name!r} ({entry.package}) is broken: {entry.error}")
    if entry._task is None:
        module_name, _, attr = entry.spec.implementation.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except Exception as exc:
            raise CvkitError(
                f"task plugin {name!r} ({entry.package}) failed to load {entry.spec.implementation}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        entry._task = cls(entry.spec)
    return entry._task
