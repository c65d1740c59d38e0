"""``cvkit data make``: write an embedded dataset to disk in a real on-disk format."""

from __future__ import annotations

from pathlib import Path

import typer

from cvkit.cli.app import data_app


@data_app.command("make")
def make(
    name: str = typer.Argument(..., help="Embedded dataset, e.g. digits, shapes (see `cvkit tasks`).",
                               show_default=False),
    out: Path = typer.Option(..., "--out", help="Folder to write (created).", show_default=False),
    fmt: str = typer.Option(None, "--format", help="On-disk format (default: the dataset's first format).",
                            show_default=False),
    size: int = typer.Option(None, "--size", help="Number of images (default: the dataset's own).",
                             show_default=False),
    seed: int = typer.Option(0, "--seed", help="Generator seed."),
    task: str = typer.Option(None, "--task", help="Task providing NAME when several do.", show_default=False),
) -> None:
    """Write NAME under OUT and print the --data spec that loads it."""
    from cvkit.errors import UsageError
    from cvkit.plugin import discover, get_task

    owners = [n for n, e in discover().items() if e.spec and name in e.spec.builtin_datasets]
    if task:
        owners = [o for o in owners if o == task]
    elif fmt and len(owners) > 1:  # several tasks embed NAME: the one that writes this format
        owners = [o for o in owners if fmt in get_task(o).builtins()[name].formats] or owners
    if not owners:
        raise UsageError(f"no installed task provides an embedded dataset {name!r}")
    builtin = get_task(owners[0]).builtins()[name]
    fmt = fmt or builtin.formats[0]
    if fmt not in builtin.formats:
        raise UsageError(f"--format {fmt}: {name} can be written as {', '.join(builtin.formats)}")
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"--out {out}: folder exists and is not empty")
    from cvkit.data import publish_builtin

    typer.echo(publish_builtin(builtin, out, fmt, size, seed, owners[0]))
