"""``cvkit predict``: run a checkpoint (or an exported ONNX model) over images, folders, globs or stdin."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from cvkit.cli.app import app


@app.command("predict")
def predict_cmd(
    args: list[str] = typer.Argument(..., help="[TASK] SOURCE...: files, folders, globs, - for paths on stdin; for "
                                     "image tasks also videos (.mp4, .avi, ...: one record per frame) and camera:N.",
                                     show_default=False, metavar="[TASK] SOURCE..."),
    weights: Path = typer.Option(..., help="Checkpoint (.pt) or exported model (.onnx).", show_default=False),
    fmt: Literal["jsonl", "csv", "coco"] = typer.Option("jsonl", "--format",
                            help="Output format."),
    output: str = typer.Option("-", help="Output file, or - for stdout."),
    img_size: int = typer.Option(None, min=1, help="Input size.", show_default="checkpoint's"),
    batch_size: int = typer.Option(16, min=1, help="Images per forward pass."),
    conf: float = typer.Option(None, help="Minimum score of a reported detection/keypoint.",
                               show_default="task default"),
    backend: Literal["torch", "onnxruntime"] = typer.Option("torch",
                                help="Inference engine (onnxruntime needs an exported .onnx, see `cvkit export`)."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    workers: int = typer.Option(0, min=0, help="Decoding worker processes."),
    skip_bad: bool = typer.Option(False, help="Unreadable inputs still get an error record, but exit 0."),
    save_vis: Path = typer.Option(None, help="Also write each image with its prediction drawn into this folder "
                                  "(a video input: one annotated .mp4).", show_default=False),
    vid_stride: int = typer.Option(1, min=1, help="Read every N-th frame of a video or camera input (image tasks)."),
    amp: bool = typer.Option(False, help="bf16 autocast on CUDA (faster on tensor-core GPUs; ignored on CPU)."),
    save_masks: Path = typer.Option(None, help="Also write one label PNG per input into this folder (segmentation); "
                                    "records name it in mask_png. Without it records carry RLE only.",
                                    show_default=False),
    task_arg: list[str] = typer.Option([], "--task-arg", help="Task-specific KEY=VALUE (repeat a KEY for a list), "
                                       "e.g. --task-arg point=10,20 for promptable segmentation.",
                                       show_default=False),
) -> None:
    """Predict and write one record per input, in input order, as soon as each batch is done."""
    from cvkit.cli.common import parse_task_args, split_task_and_paths
    from cvkit.errors import CvkitError, UsageError

    task, sources = split_task_and_paths(args)
    if not sources:
        raise UsageError("no SOURCE given (files, folders, globs, or - for paths on stdin)")
    from cvkit.io.sources import CAMERA, VIDEO_EXTENSIONS
    from cvkit.runtime import try_torch_free

    # An exported model runs without importing torch where its task has a torch-free runtime (cvkit.runtime);
    # videos are read frame by frame on the torch path.
    videos = any(a.startswith(CAMERA) or Path(a).suffix.lower() in VIDEO_EXTENSIONS for a in sources)
    torch_only = bool(save_vis or save_masks or task_arg or amp or img_size or workers or videos or vid_stride > 1)
    stats = try_torch_free(weights, task, sources, fmt, output, batch_size, conf, backend, device, torch_only)
    if stats is None:
        from cvkit.engine.predict_cli import run_predict

        stats = run_predict(task, weights, sources, fmt, output, img_size, batch_size, conf, backend, device,
                            workers, save_vis, amp, save_masks, parse_task_args(task_arg), vid_stride)
    else:
        from cvkit.console import info

        info(f"{stats.inputs} input(s) in {stats.seconds:.2f} s ({stats.inputs / max(stats.seconds, 1e-9):.1f}/s)"
             + (f", {stats.errors} unreadable" if stats.errors else "") + " (onnxruntime, torch-free)")
    if stats.errors and not skip_bad:
        raise CvkitError(f"{stats.errors} of {stats.inputs} input(s) could not be read (see the error records; "
                         "--skip-bad to exit 0)")
