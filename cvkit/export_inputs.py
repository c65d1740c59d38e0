"""ONNX export of models that take several input tensors (an image and its prompts, for instance).

``cvkit export`` comes here when ``Task.example_input`` returns a tuple of tensors. The model may name its inputs
and outputs (``input_names``, ``output_names``), declare dynamic axes (``dynamic_axes``, as for
``torch.onnx.export``) and give a second, differently shaped set of inputs (``verification_inputs()``): the file
is verified through onnxruntime against the eager model on both sets before it is written, atomically. The
metadata (``cvkit.json``) is the same as for single-input exports; ``input_size`` and ``input_name`` describe the
first input. Such files are for deployment through onnxruntime: ``cvkit predict`` runs one-input exports only.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils import _pytree as pytree

from cvkit.backends import ExportMeta
from cvkit.errors import CvkitError, UsageError
from cvkit.io.atomic import write_bytes


def export_with_inputs(model: nn.Module, example: tuple[torch.Tensor, ...], ckpt: Any, weights: Path, out: Path,
                       fmt: str, opset: int | None, verify: bool, tolerance: float, precision: str = "fp32") -> Any:
    from cvkit.checkpoint import versions
    from cvkit.export import DEFAULT_OPSET, ExportResult, Verification

    names = list(getattr(model, "input_names", None) or [f"input{i}" for i in range(len(example))])
    if fmt != "onnx":
        raise UsageError(f"{weights}: {ckpt.model.name!r} takes several inputs ({', '.join(names)}); export it with "
                         "--format onnx")
    if precision != "fp32":
        raise UsageError(f"{weights}: --int8 and --half are for one-input models; {ckpt.model.name!r} takes several")
    if not all(isinstance(t, torch.Tensor) for t in example) or len(names) != len(example):
        raise CvkitError(f"{weights}: the task's example inputs must be tensors, one per input name")
    with torch.no_grad():
        leaves, spec = pytree.tree_flatten(model(*example))
    out_names = list(getattr(model, "output_names", None) or [f"output{i}" for i in range(len(leaves))])
    meta = ExportMeta(task=ckpt.task, model=ckpt.model, info=ckpt.info,
                      input_size=tuple(int(s) for s in example[0].shape[1:]), batch_size=int(example[0].shape[0]),
                      format="onnx", output_spec=pytree.treespec_dumps(spec), input_name=names[0],
                      output_names=out_names, opset=opset or DEFAULT_OPSET, source=weights.name, versions=versions())
    data = _onnx(model, example, names, meta, getattr(model, "dynamic_axes", None))
    check = None
    if verify:
        sets = [("the task's example inputs", example)]
        more = getattr(model, "verification_inputs", None)
        if callable(more):
            sets.append(("inputs of other shapes", tuple(more())))
        check = _verify(data, model, names, sets, tolerance, Verification)
        if not check.passed:
            raise CvkitError(f"{out}: not written: the exported model differs from the eager one by "
                             f"{check.max_abs_diff:.3g} (tolerance {check.tolerance:.3g}) on {check.data}; "
                             "--no-verify writes it anyway")
    write_bytes(out, data)
    return ExportResult(out, "onnx", meta, len(data), check)


def _onnx(model: nn.Module, example: tuple[torch.Tensor, ...], names: list[str], meta: ExportMeta,
          axes: dict[str, dict[int, str]] | None) -> bytes:
    import onnx

    buf = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript-based exporter warns that it is deprecated
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(model, example, buf, input_names=names, output_names=meta.output_names,
                              dynamic_axes=axes, opset_version=meta.opset, do_constant_folding=True, dynamo=False)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise CvkitError(f"{meta.source}: ONNX export of {meta.model.name!r} failed (opset {meta.opset}): "
                             f"{type(exc).__name__}: {first}") from None
    proto = onnx.load_model_from_string(buf.getvalue())
    del proto.metadata_props[:]
    for key, value in (("cvkit.json", meta.to_json()), ("task", meta.task), ("model", meta.model.name)):
        prop = proto.metadata_props.add()
        prop.key, prop.value = key, value
    proto.producer_name = "cvkit"
    return proto.SerializeToString()


def _verify(data: bytes, model: nn.Module, names: list[str], sets: list[tuple[str, tuple[torch.Tensor, ...]]],
            tolerance: float, verification: Any) -> Any:
    import onnxruntime as ort

    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    worst, scale, values = 0.0, 1.0, 0
    for label, inputs in sets:
        with torch.no_grad():
            ref = pytree.tree_leaves(model(*inputs))
        got = session.run(None, {n: t.numpy() for n, t in zip(names, inputs, strict=True)})
        if len(got) != len(ref) or any(tuple(g.shape) != tuple(r.shape) for g, r in zip(got, ref, strict=True)):
            raise CvkitError(f"exported model returned outputs of shapes {[tuple(g.shape) for g in got]}, the eager "
                             f"model {[tuple(r.shape) for r in ref]} ({label})")
        for g, r in zip(got, ref, strict=True):
            if r.numel():
                diff = float((torch.from_numpy(g).float() - r.float()).abs().max())
                scale = max(scale, float(r.float().abs().max()))
                worst = max(worst, diff)
            values += r.numel()
    tol = tolerance * scale
    return verification(" and ".join(s[0] for s in sets), int(sets[0][1][0].shape[0]), worst, tol, None,
                        worst <= tol, values)
