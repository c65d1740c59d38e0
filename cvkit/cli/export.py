"""``cvkit export``: a checkpoint to ONNX or TorchScript, metadata embedded, verified against the eager model."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from cvkit.cli.app import app

HELP = """Export a checkpoint to ONNX (run by onnxruntime) or TorchScript, ready for `cvkit predict --weights FILE`.

The file embeds what prediction needs (task, class names, input size, normalisation) as JSON under the key
cvkit.json: ONNX metadata_props, TorchScript extra files. ONNX uses the TorchScript-based exporter (opset 17
by default). Without --dynamic-batch the graph has a fixed batch size of 1 (cvkit's runner feeds larger batches
one image at a time).

Verification (on by default) runs the exported file in its runtime next to the eager model on a batch of a
different size (3): real images from the checkpoint's dataset, else the task's embedded dataset, else random
normalised inputs. It reports the largest absolute difference and top-1 agreement; beyond the tolerance
(1e-4 x the largest output magnitude, at least 1e-4) nothing is written and the exit status is 1.

--int8 quantises with onnxruntime: static QDQ (weights per channel, activations calibrated on
--calibration-samples training images of the checkpoint's dataset, preprocessed as prediction does) or
--int8-method dynamic (weights only ahead of time; no data; for recurrent and attention models). An int8
model is verified by the task's metric on up to --verify-samples validation images, fp32 eager against int8,
and by top-1 agreement; it is refused when the metric drops by more than --max-drop (0.01 = 1 point). The
calibration and the figures are stored in the model's metadata. --half writes an fp16 model for GPUs (float32
inputs and outputs kept), verified with a tolerance of 2e-2.
"""


@app.command("export", help=HELP)
def export_cmd(
    weights: Path = typer.Option(..., help="Checkpoint (.pt) to export.", show_default=False),
    fmt: Literal["onnx", "torchscript"] = typer.Option(..., "--format", help="Export format.", show_default=False),
    output: Path = typer.Option(None, help="Output file.", show_default="checkpoint name with .onnx/.torchscript"),
    opset: int = typer.Option(None, min=7, help="ONNX opset version.", show_default="17"),
    dynamic_batch: bool = typer.Option(False, "--dynamic-batch", help="Let the batch dimension vary (ONNX axis)."),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Compare the exported model with the eager one."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON document."),
    int8: bool = typer.Option(False, "--int8", help="Quantise to int8 (ONNX; onnxruntime quantisation)."),
    int8_method: Literal["static", "dynamic"] = typer.Option("static", help="int8: calibrated static QDQ or "
                                                             "dynamic (weights only)."),
    calibration_samples: int = typer.Option(64, min=1, help="int8 static: training images to calibrate on."),
    max_drop: float = typer.Option(0.01, min=0.0, help="int8: refuse when the task metric drops by more."),
    verify_samples: int = typer.Option(512, min=1, help="int8: validation images for the metric check."),
    half: bool = typer.Option(False, "--half", help="Write fp16 weights and activations (ONNX, for GPUs)."),
) -> None:
    from cvkit.cli.common import print_json
    from cvkit.console import info
    from cvkit.export import export

    result = export(weights, fmt, output, opset=opset, dynamic_batch=dynamic_batch, verify=verify, int8=int8,
                    int8_method=int8_method, calibration_samples=calibration_samples, max_drop=max_drop,
                    verify_samples=verify_samples, half=half)
    if as_json:
        print_json(result.to_dict())
    v = result.verification
    if v is not None and v.metric is not None:
        top1 = f", top-1 agreement {v.top1_agreement:.1%}" if v.top1_agreement is not None else ""
        info(f"verified on {v.data}: {v.metric} {v.metric_before:.4f} (fp32 eager) -> {v.metric_after:.4f} "
             f"({result.meta.precision}){top1}; --max-drop {v.tolerance:g}")
    elif v is not None:
        top1 = f", top-1 agreement {v.top1_agreement:.1%}" if v.top1_agreement is not None else ""
        empty = "" if v.values else "; every output was empty, so nothing was compared"
        info(f"verified on {v.data} (batch {v.batch_size}): max |diff| {v.max_abs_diff:.3g} "
             f"(tolerance {v.tolerance:.3g}){top1}{empty}")
    else:
        info("not verified (--no-verify)")
    if not as_json:
        typer.echo(str(result.path))
