"""``cvkit export``: a checkpoint to ONNX or TorchScript, with its metadata embedded, verified before it is written.

The file is produced in memory, then (unless ``verify=False``) loaded back through its runtime (onnxruntime or
``torch.jit.load``, via :mod:`cvkit.backends`) and run next to the eager model on a real batch from the
checkpoint's dataset (else the task's embedded dataset, else random normalised inputs; the report says which)
whose size differs from the exported batch size. Only a file within tolerance is written, atomically.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils import _pytree as pytree

from cvkit.backends import ExportMeta, open_exported
from cvkit.errors import CvkitError, UsageError
from cvkit.io.atomic import write_bytes

log = logging.getLogger(__name__)

FORMATS = {"onnx": ".onnx", "torchscript": ".torchscript"}
DEFAULT_OPSET = 17
TOLERANCE = 1e-4  # max |exported - eager|, relative to the largest eager output magnitude (at least 1)
HALF_TOLERANCE = 2e-2  # the same for fp16 exports (10 mantissa bits, accumulated over the network's depth)


@dataclass
class Verification:
    data: str  # where the inputs came from
    batch_size: int
    max_abs_diff: float | None  # None where verified by the task metric (int8)
    tolerance: float
    top1_agreement: float | None  # fraction of samples with the same arg-max (classification-like outputs)
    passed: bool
    values: int = 0  # output values compared (0: every output was empty, e.g. a detector finding nothing)
    metric: str | None = None  # int8: verified by the task metric rather than by the largest difference
    metric_before: float | None = None
    metric_after: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ExportResult:
    path: Path
    format: str
    meta: ExportMeta
    bytes: int
    verification: Verification | None

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "format": self.format, "bytes": self.bytes, "opset": self.meta.opset,
                "dynamic_batch": self.meta.batch_size is None, "input_size": list(self.meta.input_size),
                "task": self.meta.task, "model": self.meta.model.name, "precision": self.meta.precision,
                "quantization": self.meta.quantization,
                "verification": self.verification.to_dict() if self.verification else None}


def export(weights: str | Path, fmt: str, output: str | Path | None = None, opset: int | None = None,
           dynamic_batch: bool = False, verify: bool = True, tolerance: float = TOLERANCE,
           verify_batch: int | None = None, int8: bool = False, int8_method: str = "static",
           calibration_samples: int = 64, max_drop: float = 0.01, verify_samples: int = 512,
           half: bool = False) -> ExportResult:
    """Export checkpoint ``weights`` as ``fmt`` (``onnx`` or ``torchscript``) and return what was done.

    ``int8`` quantises the ONNX model (:mod:`cvkit.quantize`) and verifies it by the task metric on up to
    ``verify_samples`` validation images (refused when it drops by more than ``max_drop``); ``half`` writes fp16.
    Raises :class:`CvkitError` (nothing written) when verification finds outputs beyond ``tolerance``."""
    from cvkit.checkpoint import load_model, versions

    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if opset is not None and fmt != "onnx":
        raise UsageError("--opset applies to --format onnx only")
    if (int8 or half) and fmt != "onnx":
        raise UsageError("--int8 and --half apply to --format onnx only")
    if int8 and half:
        raise UsageError("--int8 and --half exclude each other")
    precision = "int8" if int8 else "fp16" if half else "fp32"
    weights = Path(weights)
    task, model, ckpt = load_model(weights, "cpu")
    suffix = FORMATS[fmt] if precision == "fp32" else f".{precision}{FORMATS[fmt]}"
    out = Path(output) if output is not None else weights.with_suffix(suffix)
    if out.resolve() == weights.resolve():
        raise UsageError(f"--output {out}: would overwrite the checkpoint")
    from cvkit.model import export_refusal

    refusal = export_refusal(model)
    if refusal:
        raise CvkitError(f"{weights}: {ckpt.model.name!r} cannot be exported: {refusal}")
    input_size = (*task.default_input_size[:-2], ckpt.model.img_size, ckpt.model.img_size)
    example = task.example_input(model, input_size)
    if isinstance(example, tuple):  # several inputs (an image and prompts): ONNX, verified on the task's examples
        from cvkit.export_inputs import export_with_inputs

        return export_with_inputs(model, example, ckpt, weights, out, fmt, opset, verify, tolerance, precision)
    if not isinstance(example, torch.Tensor):
        raise CvkitError(f"{weights}: export needs a model that takes one batch tensor; {ckpt.task!r} models "
                         f"take {type(example).__name__}")
    try:
        with torch.no_grad():
            leaves, spec = pytree.tree_flatten(model(example))
    except Exception as exc:  # a model that cannot run on a dummy batch cannot be traced either
        raise CvkitError(f"{weights}: {ckpt.model.name!r} cannot be exported: it fails on an example batch of shape "
                         f"{tuple(example.shape)} ({type(exc).__name__}: {_first_line(exc)})") from None
    if not leaves or not all(isinstance(t, torch.Tensor) for t in leaves):
        raise CvkitError(f"{weights}: export needs tensor outputs; the model returned {pytree.treespec_dumps(spec)}")
    if dynamic_batch and spec.type is list and spec.num_children == example.shape[0]:
        raise UsageError(f"{weights}: {ckpt.model.name!r} returns one result per image, which an exported graph "
                         "can only do for a fixed batch size; export without --dynamic-batch")
    meta = ExportMeta(
        task=ckpt.task, model=ckpt.model, info=ckpt.info, input_size=tuple(int(s) for s in example.shape[1:]),
        batch_size=None if dynamic_batch else int(example.shape[0]), format=fmt,
        output_spec=pytree.treespec_dumps(spec),
        output_names=["output"] if len(leaves) == 1 else [f"output{i}" for i in range(len(leaves))],
        opset=(opset or DEFAULT_OPSET) if fmt == "onnx" else None, source=weights.name, versions=versions(),
        precision=precision,
    )
    if precision == "int8":
        return _export_int8(model, example, meta, task, ckpt, out, int8_method, calibration_samples, verify,
                            verify_samples, max_drop)
    data = _to_onnx(model, example, meta) if fmt == "onnx" else _to_torchscript(model, example, meta)
    if precision == "fp16":
        from cvkit.quantize import to_half

        data = to_half(data)
        tolerance = max(tolerance, HALF_TOLERANCE)
    check = None
    if verify:
        n = verify_batch or int(example.shape[0]) + 2
        if n == example.shape[0]:
            raise UsageError(f"verification batch {n} must differ from the export batch size")
        check = verify_export(data, fmt, model, task, ckpt, n, tolerance)
        if not check.passed:
            raise CvkitError(
                f"{out}: not written: the exported model differs from the eager one by {check.max_abs_diff:.3g} "
                f"(tolerance {check.tolerance:.3g}) on {check.data}; --no-verify writes it anyway")
    write_bytes(out, data)
    return ExportResult(out, fmt, meta, len(data), check)


def _export_int8(model: nn.Module, example: torch.Tensor, meta: ExportMeta, task: Any, ckpt: Any, out: Path,
                 method: str, calibration_samples: int, verify: bool, verify_samples: int,
                 max_drop: float) -> ExportResult:
    """fp32 ONNX -> int8 (static with calibration on training images, or dynamic), verified by the task metric."""
    from cvkit.quantize import Calibration, calibration_batches, quantize_int8, verify_by_metric

    batches, source = (None, "none (dynamic quantisation)")
    if method == "static":
        batches, source = calibration_batches(task, ckpt, calibration_samples, meta.batch_size)
    calibration = Calibration(method, sum(b.shape[0] for b in batches or []), source)
    meta.quantization = {"calibration": calibration.to_dict()}
    fp32 = _to_onnx(model, example, meta)  # the metadata it embeds is rewritten below, with the figures
    data = quantize_int8(fp32, method, meta.input_name, batches)
    agreement = None
    if verify:
        runner = open_exported(data=data, fmt="onnx")
        agreement = verify_by_metric(runner, model, task, ckpt, verify_samples, meta.batch_size or 16, max_drop)
        meta.quantization["verification"] = agreement.to_dict()
        if not agreement.passed:
            raise CvkitError(
                f"{out}: not written: int8 {agreement.metric} {agreement.after:.4f} vs fp32 {agreement.before:.4f} "
                f"on {agreement.data} drops by {agreement.drop:.4f} > --max-drop {max_drop:g}; try more "
                "--calibration-samples, --int8-method dynamic, or --no-verify to write it anyway")
    data = _set_metadata(data, meta)
    write_bytes(out, data)
    check = None
    if agreement is not None:
        check = Verification(agreement.data, agreement.samples, None, max_drop, agreement.top1_agreement,
                             True, agreement.samples, metric=agreement.metric, metric_before=agreement.before,
                             metric_after=agreement.after)
    return ExportResult(out, "onnx", meta, len(data), check)


def _set_metadata(data: bytes, meta: ExportMeta) -> bytes:
    import onnx

    proto = onnx.load_model_from_string(data)
    for prop in proto.metadata_props:
        if prop.key == "cvkit.json":
            prop.value = meta.to_json()
    return proto.SerializeToString()


def _to_onnx(model: nn.Module, example: torch.Tensor, meta: ExportMeta) -> bytes:
    import onnx

    buf = io.BytesIO()
    axes = None
    if meta.batch_size is None:
        axes = {meta.input_name: {0: "batch"}, **{name: {0: "batch"} for name in meta.output_names}}
    with warnings.catch_warnings():  # the TorchScript-based exporter warns that it is deprecated
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(model, (example,), buf, input_names=[meta.input_name], output_names=meta.output_names,
                              dynamic_axes=axes, opset_version=meta.opset, do_constant_folding=True, dynamo=False)
        except Exception as exc:
            raise CvkitError(f"{meta.source}: ONNX export of {meta.model.name!r} failed (opset {meta.opset}): "
                             f"{type(exc).__name__}: {_first_line(exc)}") from None
    proto = onnx.load_model_from_string(buf.getvalue())
    del proto.metadata_props[:]
    for key, value in (("cvkit.json", meta.to_json()), ("task", meta.task), ("model", meta.model.name),
                       ("classes", _json(meta.info.classes))):
        prop = proto.metadata_props.add()
        prop.key, prop.value = key, value
    proto.producer_name = "cvkit"
    return proto.SerializeToString()


class _Flat(nn.Module):
    """The model with its outputs flattened to a tuple of tensors (the tracer refuses lists of dicts); the
    runner nests them back with the output spec kept in the metadata."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(pytree.tree_leaves(self.model(x)))


def _to_torchscript(model: nn.Module, example: torch.Tensor, meta: ExportMeta) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow; verification decides
        try:
            traced = torch.jit.trace(_Flat(model), (example,), check_trace=False, strict=False)
        except Exception as exc:
            raise CvkitError(f"{meta.source}: TorchScript tracing of {meta.model.name!r} failed: "
                             f"{type(exc).__name__}: {_first_line(exc)}") from None
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.save's deprecation notice
        torch.jit.save(traced, buf, _extra_files={"cvkit.json": meta.to_json()})
    return buf.getvalue()


def verify_export(data: bytes, fmt: str, model: nn.Module, task: Any, ckpt: Any, n: int,
                  tolerance: float = TOLERANCE) -> Verification:
    """Run the exported bytes and the eager model on the same ``n`` inputs and compare every output."""
    runner = open_exported(data=data, fmt=fmt)
    x, source = sample_batch(task, ckpt, n, runner.meta.input_size)
    with torch.no_grad():
        ref = pytree.tree_leaves(model(x))
        got = pytree.tree_leaves(runner(x))
    if len(ref) != len(got) or any(a.shape != b.shape for a, b in zip(ref, got, strict=True)):
        shapes = [tuple(t.shape) for t in got]
        raise CvkitError(f"exported model returned outputs of shapes {shapes}, the eager model "
                         f"{[tuple(t.shape) for t in ref]} (batch {n})")
    diff = max(float((a.float() - b.float()).abs().max()) if a.numel() else 0.0 for a, b in zip(ref, got, strict=True))
    scale = max([1.0] + [float(a.float().abs().max()) for a in ref if a.numel()])
    top1 = None
    logits = [(a, b) for a, b in zip(ref, got, strict=True)  # one row of scores per sample
              if a.ndim == 2 and a.shape[0] == n and a.shape[1] > 1 and a.is_floating_point()]
    if logits:
        a, b = logits[0]
        top1 = float((a.argmax(1) == b.argmax(1)).float().mean())
    tol = tolerance * scale
    return Verification(source, n, diff, tol, top1, diff <= tol, sum(a.numel() for a in ref))


def sample_batch(task: Any, ckpt: Any, n: int, input_size: tuple[int, ...]) -> tuple[torch.Tensor, str]:
    """``n`` preprocessed inputs: the checkpoint's dataset, else the task's embedded one, else random normal."""
    from cvkit.data import load_split

    attempts = [(ckpt.info.spec, s) for s in ("val", ckpt.info.split, "train")] if ckpt.info.spec else []
    attempts += [(None, "val"), (None, "train")]  # the task's embedded dataset
    for spec, split in dict.fromkeys(attempts):
        try:
            raw = load_split(task, spec, split)
            dataset = task.dataset(raw, ckpt.model, train=False)
            if len(dataset) == 0:
                continue
            batch = task.collate([dataset[i % len(dataset)] for i in range(n)])
        except Exception as exc:  # a dataset that moved or cannot be read: try the next source
            log.debug("verification data %s/%s unavailable: %s", spec, split, exc)
            continue
        x = batch.inputs
        if isinstance(x, torch.Tensor) and tuple(x.shape[1:]) == tuple(input_size):
            return x.float(), f"{min(n, len(dataset))} {split} image(s) of {raw.info.spec or spec}"
    gen = torch.Generator().manual_seed(0)
    return torch.randn(n, *input_size, generator=gen), "random normalised inputs (no dataset readable)"


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
