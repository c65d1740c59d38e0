"""``cvkit tasks`` and ``cvkit models``: what is installed (``tasks`` imports no torch and no plugin code)."""

from __future__ import annotations

import json
import shutil
import textwrap

import typer

from cvkit.cli.app import app

TASK_ARG = typer.Argument(..., help="Task name (see `cvkit tasks`).", show_default=False)


@app.command("tasks")
def tasks_cmd(task: str = typer.Argument(None, help="Only this task, with its training defaults.", show_default=False),
              as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout.")) -> None:
    """Installed task plugins: name, package, version, models, dataset formats (broken ones with their error)."""
    from cvkit.cli.model_list import task_defaults
    from cvkit.plugin import discover, get_task

    if task:
        get_task(task)  # an unknown name fails here, with the closest names
    rows = []
    for name, e in sorted(discover().items()):
        if task and name != task:
            continue
        row = {"name": name, "package": e.package, "version": e.version, "status": "broken" if e.broken else "ok"}
        if e.spec:
            row.update(summary=e.spec.summary, models=list(e.spec.models), extra_models=e.spec.extra_models,
                       dataset_formats=list(e.spec.dataset_formats),
                       builtin_datasets=list(e.spec.builtin_datasets), default_data=e.spec.default_data,
                       metrics=list(e.spec.metrics))
        else:
            row["error"] = e.error
        if task:
            row["defaults"] = task_defaults(get_task(name))
        rows.append(row)
    if as_json:
        typer.echo(json.dumps({"tasks": rows}, indent=2))
        return
    if task:
        typer.echo(defaults_block(task))
    width = shutil.get_terminal_size((100, 24)).columns
    for r in rows:  # one block per task, lists wrapped at word boundaries: no name is ever cut
        typer.echo(f"{r['name']}  ({r['package']} {r['version']})")
        if r["status"] == "broken":
            typer.echo(_wrap("broken", r["error"], width))
            continue
        if r["summary"]:
            typer.echo(_wrap("", r["summary"], width))
        models = ", ".join(r["models"]) + (f" + {r['extra_models']}" if r["extra_models"] else "")
        typer.echo(_wrap("models", models, width))
        formats = ", ".join(r["dataset_formats"] + [f"builtin:{b}" for b in r["builtin_datasets"]])
        typer.echo(_wrap("data", formats, width))


def _wrap(label: str, text: str, width: int) -> str:
    head = f"  {label + ':' if label else '':<8}"
    return textwrap.fill(text, width=max(width - 1, 40), initial_indent=head, subsequent_indent=" " * len(head),
                         break_long_words=False, break_on_hyphens=False)


def defaults_block(name: str) -> str:
    """``defaults for TASK:`` and one ``--option value`` per line (imports the task)."""
    from cvkit.cli.model_list import task_defaults
    from cvkit.plugin import get_task

    values = task_defaults(get_task(name))
    lines = [f"defaults for {name} (a dataset card may recommend others for its data):"]
    lines += [f"  --{key:<14} {value}" for key, value in values.items()]
    return "\n".join(lines)


@app.command("models")
def models_cmd(task: str = TASK_ARG,
               name: str = typer.Argument(None, help="One model: its --model-arg keys with their defaults.",
                                          show_default=False),
               pattern: str = typer.Option(None, "--filter", help="Only names matching this shell pattern, e.g. "
                                           "'*resnet*' (fnmatch).", show_default=False),
               params: bool = typer.Option(False, "--params", help="Also count parameters (each model built on the "
                                           "meta device: no memory, no initialisation; slower for big lists)."),
               as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
               num_classes: int = typer.Option(10, min=1, help="Classes assumed for --params (count-params "
                                               "assumes the same).")) -> None:
    """Models of a task (the default one marked *); with NAME, that model's --model-arg keys and defaults."""
    from cvkit.cli.model_list import REQUIRED, count_on_meta, list_models, listing, model_arguments, task_defaults
    from cvkit.plugin import check_model_name, discover, get_task

    if name or params or task not in discover():
        t = get_task(task)  # an unknown task fails here, with the closest names
    if name:
        check_model_name(t, name)
        args = model_arguments(t, name)
        if as_json:
            typer.echo(json.dumps({"task": task, "model": name, "model_args": args}, indent=2, default=repr))
        elif args is None:
            typer.echo(f"{task} {name}: the task does not list this model's --model-arg keys")
        else:
            typer.echo(f"--model-arg keys of {task} {name} (KEY=VALUE, values in YAML):")
            for key, value in args.items():
                typer.echo(f"  {key:<30} {REQUIRED if value == REQUIRED else repr(value)}")
            if not args:
                typer.echo("  (none)")
        return
    if params:
        rows = list_models(t.model_names(), t.default_model, pattern)
        for r in rows:
            r["params"], r["note"] = count_on_meta(t, r["name"], num_classes)
        defaults = task_defaults(t)
    else:
        doc = listing(task)  # cached: no torch import on a repeated call
        rows, defaults = list_models(doc["names"], doc["default"], pattern), doc["defaults"]
    if as_json:
        typer.echo(json.dumps({"task": task, "default": defaults["model"], "num_classes": num_classes if params
                               else None, "models": rows}, indent=2))
        return
    if not rows:
        typer.echo(f"no {task} model matches {pattern!r}")
        return
    typer.echo(f"{'model':<30}{'parameters':>14}" if params else "model")
    for r in rows:
        mark = "*" if r["default"] else " "
        line = f"{r['name'] + mark:<30}"
        if params:
            line += f"{r['params']:>14,}" if r["params"] is not None else f"{'-':>14}  {r['note']}"
        typer.echo(line.rstrip())
    note = f"* default model; `cvkit models {task} NAME` shows a model's --model-arg keys"
    typer.echo(note + (f"; counts for {num_classes} classes at --img-size {defaults['img-size']}" if params
                       else "; --params adds parameter counts"))
    typer.echo("defaults for train: " + " ".join(f"--{k} {v}" for k, v in defaults.items()))
