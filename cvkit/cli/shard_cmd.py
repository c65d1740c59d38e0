"""``cvkit data shard``: write any task's dataset into tar shards with an index (cvkit.shards)."""

from __future__ import annotations

from pathlib import Path

import typer

from cvkit.cli.app import data_app


@data_app.command("shard")
def shard(
    spec: str = typer.Argument(..., help="Dataset to shard: PATH, FORMAT:PATH or builtin:NAME.", show_default=False),
    out: Path = typer.Option(..., "--out", help="Folder to write (absent or empty).", show_default=False),
    task: str = typer.Option(None, "--task", help="Task whose loader reads SPEC (default: the task providing "
                             "builtin:NAME).", show_default=False),
    split: list[str] = typer.Option(["train", "val"], "--split", help="Split to write (repeatable, or "
                                    "comma-separated)."),
    shard_size: str = typer.Option("1GB", "--shard-size", help="Largest shard (1GB = 10^9 bytes; MiB/GiB are "
                                   "binary); a sample never spans two shards."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Leave out unreadable images and annotations, "
                                  "counting them, instead of stopping."),
    images: Path = typer.Option(None, help="Image folder for a COCO annotation file given as SPEC.",
                                show_default=False),
) -> None:
    """Write SPEC's splits as WebDataset-layout tar shards plus an index under OUT, and print the --data spec
    (shards:OUT) that trains, evaluates and predicts from them with the source's results."""
    from cvkit.console import info
    from cvkit.errors import UsageError
    from cvkit.plugin import discover, get_task
    from cvkit.shards import parse_size, write_shards

    size = parse_size(shard_size)
    if task is None:
        head, _, name = spec.partition(":")
        owners = [n for n, e in discover().items() if head == "builtin" and e.spec and name in e.spec.builtin_datasets]
        if len(owners) != 1:
            raise UsageError("--task is needed to read " + (f"{spec!r} (provided by {', '.join(owners)})"
                                                             if owners else repr(spec)))
        task = owners[0]
    splits = [s for item in split for s in item.split(",") if s.strip()]
    options = {"skip_bad": skip_bad, **({"images": str(images)} if images else {})}
    write_shards(get_task(task), spec, out, splits, size, options, log=info)
    typer.echo(f"shards:{out}")
