"""Helpers shared by command modules (kept free of heavy imports)."""

from __future__ import annotations

from pathlib import Path


def split_task_and_paths(args: list[str]) -> tuple[str | None, list[str]]:
    """``[TASK] SOURCE...``: the first word is a task when it names an installed task and no such file exists."""
    from cvkit.plugin import task_names

    if args and args[0] in task_names() and not Path(args[0]).exists():
        return args[0], args[1:]
    return None, args


def complete_metric(ctx: object, incomplete: str) -> list[str]:
    """``--metric`` completion: the metric families of the task named on the command line (every task's when
    none is named yet), read from the light specs."""
    from cvkit.plugin import discover

    params = getattr(ctx, "params", {}) or {}
    wanted = params.get("task")
    names: set[str] = set()
    for name, entry in discover().items():
        if entry.spec is not None and (wanted in (None, name)):
            names.update(entry.spec.metrics)
    return sorted(n for n in names if n.startswith(incomplete))


def parse_task_args(items: list[str]) -> dict[str, object]:
    """``--task-arg KEY=VALUE`` pairs (dashes in KEY become underscores); a KEY given twice collects a list."""
    from cvkit.errors import UsageError

    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--task-arg {item!r}: expected KEY=VALUE")
        key = key.replace("-", "_")
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


def print_json(doc: object) -> None:
    import json
    import sys

    sys.stdout.write(json.dumps(doc, indent=2, default=float) + "\n")
