"""``cvkit tasks`` and ``cvkit models``: what is installed (``tasks`` imports no torch and no plugin code)."""

from __future__ import annotations

import json

import typer

from cvkit.cli.app import app

TASK_ARG = typer.Argument(..., help="Task name (see `cvkit tasks`).", show_default=False)


@app.command("tasks")
def tasks_cmd(as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout.")) -> None:
    """Installed task plugins: name, package, version, models, dataset formats (broken ones with their error)."""
    from cvkit.plugin import discover

    rows = []
    for name, e in sorted(discover().items()):
        row = {"name": name, "package": e.package, "version": e.version, "status": "broken" if e.broken else "ok"}
        if e.spec:
            row.update(summary=e.spec.summary, models=list(e.spec.models), extra_models=e.spec.extra_models,
                       dataset_formats=list(e.spec.dataset_formats),
                       builtin_datasets=list(e.spec.builtin_datasets), default_data=e.spec.default_data,
                       metrics=list(e.spec.metrics))
        else:
            row["error"] = e.error
        rows.append(row)
    if as_json:
        typer.echo(json.dumps({"tasks": rows}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("task", "package", "version", "models", "data formats")
    for r in rows:
        if r["status"] == "broken":
            table.add_row(r["name"], r["package"], r["version"], f"[red]broken: {r['error']}[/red]", "")
        else:
            models = ", ".join(r["models"]) + (f" + {r['extra_models']}" if r["extra_models"] else "")
            formats = ", ".join(r["dataset_formats"] + [f"builtin:{b}" for b in r["builtin_datasets"]])
            table.add_row(r["name"], r["package"], r["version"], models, formats)
    Console(soft_wrap=False).print(table)


@app.command("models")
def models_cmd(task: str = TASK_ARG,
               as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
               num_classes: int = typer.Option(10, help="Classes assumed for the parameter counts.")) -> None:
    """Models of a task with their parameter counts (for NUM_CLASSES classes)."""
    import torch

    from cvkit.plugin import get_task
    from cvkit.task import DatasetInfo, ModelConfig

    t = get_task(task)
    info = DatasetInfo("count", "none", "", "train", [str(i) for i in range(num_classes)])
    rows = []
    for name in t.model_names():
        try:
            try:
                with torch.device("meta"):  # shapes only: no memory, no initialisation cost
                    model = t.build_model(ModelConfig(name, t.default_img_size), info)
            except (NotImplementedError, RuntimeError):  # a builder that copies data at construction
                model = t.build_model(ModelConfig(name, t.default_img_size), info)
            params = sum(p.numel() for p in model.parameters())
        except Exception as exc:  # one model that cannot be built at this size still lists the others
            params, note = None, f"{type(exc).__name__}: {str(exc)[:60]}"
        else:
            note = ""
        rows.append({"name": name, "params": params, "note": note})
    if as_json:
        typer.echo(json.dumps({"task": task, "num_classes": num_classes, "models": rows}, indent=2))
        return
    for r in rows:
        count = f"{r['params']:,}" if r["params"] is not None else "-"
        typer.echo(f"{r['name']:<28} {count:>14}  {r['note']}".rstrip())
