"""``cvkit eval``: metrics of a checkpoint on a split, or of a predictions file against the annotations."""

from __future__ import annotations

from pathlib import Path

import typer

from cvkit.cli.app import app
from cvkit.cli.common import complete_metric


@app.command("eval")
def eval_cmd(
    task: str = typer.Argument(None, help="Task (read from the checkpoint when --weights is given).",
                               show_default=False),
    weights: Path = typer.Option(None, help="Checkpoint to evaluate.", show_default=False),
    data: str = typer.Option(None, help="Dataset spec (default: the checkpoint's).", show_default="checkpoint's"),
    split: str = typer.Option("val", help="Split to evaluate (val and valid are the same)."),
    metric: str = typer.Option(None, help="Metric family where the task has several (`cvkit tasks --json` lists "
                               "them: detect voc07, voc07-strict, voc, coco; pose pckh, pckh-strict, oks).",
                               show_default="task default", autocompletion=complete_metric),
    predictions: Path = typer.Option(None, help="Score this predictions file (predict's JSONL or a COCO results "
                                     "list) instead of running a model.", show_default=False),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    batch_size: int = typer.Option(None, min=1, help="Images per batch.", show_default="checkpoint's"),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    workers: int = typer.Option(0, min=0, help="DataLoader worker processes."),
    skip_bad: bool = typer.Option(False, help="Skip unreadable inputs (counted in the result) instead of stopping."),
    images: Path = typer.Option(None, help="Image folder for a COCO annotation file.", show_default=False),
    videos: Path = typer.Option(None, help="Video folder for Sports-1M style datasets.", show_default=False),
) -> None:
    """Evaluate a checkpoint, or score a predictions file (needs only the annotations)."""
    from cvkit.engine.evaluate_cli import run_eval

    doc = run_eval(task=task, weights=weights, data=data, split=split, metric=metric, predictions=predictions,
                   batch_size=batch_size, device=device, workers=workers, skip_bad=skip_bad,
                   images=images, videos=videos)
    if as_json:
        from cvkit.cli.common import print_json

        print_json({k: v for k, v in doc.items() if k != "details"} | {"details": doc.get("details", {})})
        return
    typer.echo(f"{doc['task']} on {doc['dataset']} [{doc['split']}]: {doc['num_samples']} samples, "
               f"{doc['seconds']:.2f} s")
    for name, value in doc["metrics"].items():
        mark = "  (primary)" if name == doc["primary"] else ""
        typer.echo(f"  {name:<16} {value:.4f}{mark}")
