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
from typing import TYPE_CHECKING, Any

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
    metrics: tuple[str, ...] = ()  # --metric choices (Task.metric_names(), for completion without torch)
    runtime: str = ""  # "package.module[:object]" running exported ONNX models without torch (cvkit.runtime)
    scoring: str = ""  # "package.module:Class", a torch-free cvkit.contract.Scoring (eval --predictions)
    # model_names() == [*models, *the torchvision family's registered names] ("classification" is torchvision.models,
    # else a subpackage such as "detection"): `cvkit models TASK` lists them without importing torch
    torchvision_models: str = ""


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


# Distributions shipped with cvkit (plugins/): their task names cannot be taken over by another package.
FIRST_PARTY = frozenset({"cvkit-classify", "cvkit-detect", "cvkit-segment", "cvkit-instance", "cvkit-pose",
                         "cvkit-video", "cvkit-caption", "cvkit-vqa", "cvkit-pretrain", "cvkit-promptseg",
                         "cvkit-dense", "cvkit-multilabel"})


def _normalise(package: str) -> str:
    return package.lower().replace("_", "-").replace(".", "-")


@lru_cache(maxsize=1)
def discover() -> dict[str, PluginEntry]:
    """All ``cvkit.tasks`` entry points, each loaded as far as its light spec (errors are kept, not raised).

    A plugin that fails to import, even by calling ``sys.exit()``, is kept as a broken entry. When two packages
    register the same task name, a first-party package keeps it (else the first found); the other is listed as a
    broken entry named ``NAME (PACKAGE)`` and reported once on stderr."""
    found: dict[str, PluginEntry] = {}
    clashes: list[PluginEntry] = []
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
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001  a broken plugin (even sys.exit at import) breaks no other
            entry.error = _describe(exc)
        other = found.get(ep.name)
        if other is not None:
            if _normalise(entry.package) in FIRST_PARTY and _normalise(other.package) not in FIRST_PARTY:
                entry, other = other, entry
                found[ep.name] = other
            clashes.append(entry)
            continue
        found[ep.name] = entry
    for entry in clashes:
        owner = found[entry.name]
        reason = (f"reuses the task name {entry.name!r} of {owner.package}"
                  + (" (first-party)" if _normalise(owner.package) in FIRST_PARTY else "") + "; ignored")
        from cvkit.console import warn

        warn(f"task plugin {entry.package} {entry.version}: {reason}")
        found[f"{entry.name} ({entry.package})"] = PluginEntry(entry.name, entry.package, entry.version, entry.value,
                                                               error=reason)
    return found


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def task_names() -> list[str]:
    return sorted(name for name, e in discover().items() if not e.broken)


def did_you_mean(name: str, known: list[str]) -> str:
    """`` (did you mean a, b?)`` for the names closest to ``name`` (difflib), or '' when none is close."""
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def check_model_name(task: Task, name: str) -> None:
    """UsageError for a model name the task does not build, with the closest names, before any data is read."""
    names = task.model_names()
    if name not in names:
        raise UsageError(f"task {task.name!r} has no model {name!r}{did_you_mean(name, names)}; "
                         f"`cvkit models {task.name}` lists them")


def get_task(name: str) -> Task:
    """Import and instantiate the task plugin ``name`` (only this one)."""
    plugins = discover()
    if name not in plugins:
        known = ", ".join(task_names()) or "none installed"
        raise UsageError(f"unknown task {name!r}{did_you_mean(name, task_names())} (installed tasks: {known})")
    entry = plugins[name]
    if entry.broken:
        raise CvkitError(f"task plugin {name!r} ({entry.package}) is broken: {entry.error}")
    if entry._task is None:
        module_name, _, attr = entry.spec.implementation.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001  sys.exit() in a plugin module is a broken plugin too
            raise CvkitError(
                f"task plugin {name!r} ({entry.package}) failed to load {entry.spec.implementation}: "
                f"{_describe(exc)}"
            ) from None
        entry._task = cls(entry.spec)
    return entry._task


def get_scoring(name: str) -> Any:
    """What ``eval --predictions`` needs of task ``name``: its torch-free scoring class (``TaskSpec.scoring``) when
    the plugin declares one, else the full task (which imports torch)."""
    plugins = discover()
    entry = plugins.get(name)
    if entry is None or entry.broken or not entry.spec.scoring:
        return get_task(name)
    module_name, _, attr = entry.spec.scoring.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001  as for get_task
        raise CvkitError(f"task plugin {name!r} ({entry.package}) failed to load {entry.spec.scoring}: "
                         f"{_describe(exc)}") from None
    return cls(entry.spec)

