"""``cvkit count-params``: parameters, MACs, receptive fields and activation memory, per layer and in total."""

from __future__ import annotations

import typer

from cvkit.cli.app import app

HELP = """Count a model's parameters and cost, layer by layer.

MODEL is a checkpoint file, a model name (of an installed task, or any torchvision model, built by torchvision
with its defaults), or your own builder as path/to/file.py:function or package.module:function (called with no
arguments; it returns an nn.Module, or (module, example_input)).

Parameters are exactly sum(p.numel()) over the model's unique parameters: alexnet 61,100,840, vgg16
138,357,544, resnet50 25,557,032, mobilenet_v2 3,504,872. (The 62.4M often quoted for AlexNet is the original
2012 network: 96-256-384-384-256 filters counted without its two-GPU grouping; torchvision's AlexNet is the
later single-tower 64-192-384-256-256 variant.)

MACs (multiply-accumulates), by one convention: convolution Cout x H' x W' x Cin/groups x kH x kW, linear
in x out, plus matrix products and attention (QK^T and AV); normalisation, activations, pooling and additions
count 0. These match torchvision's published GFLOPS and fvcore with its batch-norm handle off (fvcore's default
adds 2 per element per batch-norm). FLOPs = 2 x MACs.

Receptive field: input pixels one output position sees (theoretical: padding counts, it may exceed the image),
and jump: input pixels between neighbouring positions, for layers on the spatial path (blank once the grid is
flattened into vectors or tokens). Activation memory: float32 bytes of each layer's output for one input.
"""


@app.command("count-params", help=HELP)
def count_params_cmd(
    model: str = typer.Argument(..., metavar="MODEL|CKPT",
                                help="Checkpoint, model name, path/file.py:function or package.module:function."),
    task: str = typer.Option(None, help="Task whose model NAME means (when several have it); checked against "
                                        "a checkpoint's task.", show_default="any"),
    input_size: str = typer.Option(None, help="C,H,W or C,T,H,W of one input (batch 1).",
                                   show_default="checkpoint's img size; the task's default; 3,224,224"),
    num_classes: int = typer.Option(10, min=1, help="Classes of a task model built by name (as `cvkit models`)."),
    per_layer: bool = typer.Option(False, "--per-layer", help="Also print the table of layers."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document (always with the layers)."),
) -> None:
    import sys

    from rich.console import Console

    from cvkit.cli.common import print_json
    from cvkit.console import warn
    from cvkit.count import count

    report = count(model, task=task, input_size=input_size, num_classes=num_classes)
    if report.forward_error:
        warn(f"{model}: the forward pass failed ({report.forward_error}); only parameters are counted")
    if as_json:
        print_json(report.to_dict())
        return
    # wide enough for the table when piped (rich would fold it to 80 columns); a terminal keeps its width
    report.render(Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160), per_layer=per_layer)
