"""``cvkit visualize KIND``: pictures of data, predictions, training curves and of what a network computes."""

from __future__ import annotations

from pathlib import Path

import typer

from cvkit.cli.app import app


@app.command("visualize")
def visualize_cmd(
    kind: str = typer.Argument(..., help="predictions, dataset, curves, confusion, filters, activations, saliency, "
                               "occlusion, cam, gradcam, tsne, neighbors, adversarial, class-model, dream, "
                               "inversion; optimizer, fit (course demos, no model).", show_default=False),
    sources: list[str] = typer.Argument(None, help="Input images (files, folders, globs, -).", show_default=False),
    weights: Path = typer.Option(None, help="Checkpoint.", show_default=False),
    out: Path = typer.Option(..., help="Folder for the PNGs (and JSON sidecars).", show_default=False),
    data: str = typer.Option(None, help="Dataset spec for dataset/confusion/tsne/neighbors.",
                             show_default="checkpoint's"),
    split: str = typer.Option(None, help="Split for dataset/confusion/tsne (and the images neighbors searches).",
                              show_default="val; train for neighbors"),
    run: Path = typer.Option(None, help="Run folder for curves (default: the checkpoint's folder).",
                             show_default=False),
    limit: int = typer.Option(None, min=1, help="Images in a gallery, or inputs explained when no SOURCE is given.",
                              show_default="16 in galleries, 4 otherwise"),
    layer: str = typer.Option(None, help="Layer name (see --list-layers).", show_default="kind's default"),
    list_layers: bool = typer.Option(False, "--list-layers", help="Print the model's layer names and exit."),
    target: str = typer.Option(None, help="Class (name or index) to explain or attack.",
                               show_default="predicted class"),
    option: list[str] = typer.Option([], "--option", help="Kind-specific KEY=VALUE (e.g. patch=8, stride=4, "
                                     "epsilon=0.03, steps=20).", show_default=False),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    task: str = typer.Option(None, help="Task, for `dataset` without --weights.", show_default=False),
    conf: float = typer.Option(None, min=0.0, max=1.0, help="predictions: draw detections scoring at least this.",
                               show_default="0.3"),
    max_drawn: int = typer.Option(None, "--max-drawn", min=0, help="predictions: draw at most this many detections "
                                  "per picture, highest scores first.", show_default="50"),
    as_json: bool = typer.Option(False, "--json", help="optimizer, fit: print the numbers as one JSON document "
                                 "instead of the paths."),
) -> None:
    """Write pictures of KIND into OUT and print their paths."""
    from cvkit.engine.visualize import DEMOS, run_demo, run_visualize

    if as_json:
        if kind not in DEMOS:
            from cvkit.errors import UsageError

            raise UsageError(f"--json applies to {' and '.join(DEMOS)}, not {kind!r}")
        from cvkit.cli.common import print_json

        print_json(run_demo(kind, out, option or [])[1])
        return

    paths = run_visualize(kind, sources or [], weights, out, data, split, run, limit, layer, list_layers, target,
                          option, device, task, conf=conf, max_drawn=max_drawn)
    for p in paths:
        typer.echo(str(p))
