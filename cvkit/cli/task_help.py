"""``cvkit train TASK --help``: the help ends with the task's resolved defaults when TASK is on the command line."""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand


class TaskDefaultsHelp(TyperCommand):
    """A command whose help appends ``defaults for TASK`` (see ``cvkit tasks TASK``) when a task is named."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta["cvkit.raw_args"] = list(args)  # --help is eager: it runs before TASK is processed
        return super().parse_args(ctx, args)

    def format_help(self, ctx: Any, formatter: Any) -> Any:
        block = _defaults_for(ctx.meta.get("cvkit.raw_args", []))
        if block:
            base = self.epilog or ""
            self.epilog = (base + "\n\n" if base else "") + "\b\n" + block  # \b: lines kept as they are
        return super().format_help(ctx, formatter)


def _defaults_for(args: list[str]) -> str:
    from cvkit.plugin import task_names

    names = set(task_names())
    task = next((a for a in args if not a.startswith("-") and a in names), None)
    if task is None:
        return ""
    from cvkit.cli.tasks import defaults_block

    try:
        return defaults_block(task)
    except Exception as exc:  # noqa: BLE001  a broken plugin must not break --help
        return f"defaults for {task}: unavailable ({type(exc).__name__}: {exc})"
