"""``cvkit plugin new``: scaffold a third-party task plugin."""

from __future__ import annotations

from pathlib import Path

import typer

from cvkit.cli.app import plugin_app


@plugin_app.command("new")
def new(
    name: str = typer.Argument(..., help="Task name (lower case, e.g. counting).", show_default=False),
    out: Path = typer.Option(..., "--out", help="Folder for the new package.", show_default=False),
) -> None:
    """Write a minimal working plugin package; `pip install OUT` makes NAME appear in `cvkit tasks`."""
    from cvkit.scaffold import new_plugin

    path = new_plugin(name, out)
    typer.echo(str(path))
