"""Helpers shared by command modules (kept free of heavy imports)."""

from __future__ import annotations

from pathlib import Path


def split_task_and_paths(args: list[str]) -> tuple[str | None, list[str]]:
    """``[TASK] SOURCE...``: the first word is a task when it names an installed task and no such file exists."""
    from cvkit.plugin import task_names

    if args and args[0] in task_names() and not Path(args[0]).exists():
        return args[0], args[1:]
    return None, args


def print_json(doc: object) -> None:
    import json
    import sys

    sys.stdout.write(json.dumps(doc, indent=2, default=float) + "\n")
