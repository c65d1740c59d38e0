"""Run exported models (ONNX through onnxruntime, TorchScript through ``torch.jit``) like the eager model.

An exported file carries everything prediction needs in its metadata (``cvkit.json``: task, model config with
image size and normalisation, dataset info with class names, input/output layout), so no checkpoint is needed
beside it. :class:`ExportedModel` is an ``nn.Module`` whose ``forward(images)`` takes the same preprocessed
batch the eager model takes and returns the same raw outputs (tensor, tuple, dict...) on the input's device,
so a task's ``predict_step`` runs it unchanged::

    from cvkit.backends import load_exported
    task, model, model_cfg, info = load_exported("model.onnx")
    logits = model(batch.inputs)

Files exported with a fixed batch size accept any batch: it is run in chunks of the exported size.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils import _pytree as pytree

from cvkit.errors import CvkitError, UsageError
from cvkit.task import DatasetInfo, ModelConfig, Task

META_KEY = "cvkit.json"  # ONNX metadata_props key and TorchScript extra-file name
FORMAT = "cvkit-export"
FORMAT_VERSION = 1
SUFFIXES = {".onnx": "onnx", ".torchscript": "torchscript", ".ts": "torchscript"}


@dataclass
class ExportMeta:
    """The metadata embedded in an exported file."""

    task: str
    model: ModelConfig
    info: DatasetInfo
    input_size: tuple[int, ...]  # one input, without the batch dimension
    batch_size: int | None  # None: any batch size (dynamic); else the exported (fixed) batch size
    format: str  # "onnx" or "torchscript"
    output_spec: str  # torch.utils._pytree spec of the eager outputs (how the flat outputs nest)
    input_name: str = "images"
    output_names: list[str] = field(default_factory=lambda: ["output"])
    opset: int | None = None
    source: str = ""  # the checkpoint it was exported from
    versions: dict[str, str] = field(default_factory=dict)
    precision: str = "fp32"  # "fp32", "int8" (onnxruntime quantisation) or "fp16"
    quantization: dict[str, Any] | None = None  # int8: method, calibration images, verification figures

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION, "task": self.task, "model": self.model.to_dict(),
            "dataset": self.info.to_dict(), "input_size": list(self.input_size), "batch_size": self.batch_size,
            "export_format": self.format, "output_spec": self.output_spec, "input_name": self.input_name,
            "output_names": self.output_names, "opset": self.opset, "source": self.source,
            "versions": self.versions, "precision": self.precision, "quantization": self.quantization,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes, where: str) -> ExportMeta:
        try:
            d = json.loads(text)
            if d.get("format") != FORMAT:
                raise ValueError("no cvkit-export marker")
            if int(d.get("format_version", 0)) > FORMAT_VERSION:
                raise CvkitError(f"{where}: exported by a newer cvkit (format {d['format_version']}); upgrade cvkit")
            return cls(
                task=d["task"], model=ModelConfig.from_dict(d["model"]), info=DatasetInfo.from_dict(d["dataset"]),
                input_size=tuple(int(v) for v in d["input_size"]),
                batch_size=None if d.get("batch_size") is None else int(d["batch_size"]),
                format=d["export_format"], output_spec=d["output_spec"], input_name=d.get("input_name", "images"),
                output_names=list(d.get("output_names") or ["output"]), opset=d.get("opset"),
                source=d.get("source", ""), versions=dict(d.get("versions") or {}),
                precision=str(d.get("precision") or "fp32"), quantization=d.get("quantization"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CvkitError(f"{where}: its cvkit metadata ({META_KEY}) is damaged: {exc}") from None


def format_of(path: str | Path) -> str | None:
    """``onnx`` or ``torchscript`` by file name, else None."""
    return SUFFIXES.get(Path(path).suffix.lower())


def read_metadata(path: str | Path) -> ExportMeta:
    """The metadata of an exported file (reads only the metadata, not the weights where the format allows)."""
    path = Path(path)
    if not path.is_file():
        raise CvkitError(f"{path}: no such file")
    fmt = format_of(path) or ("torchscript" if zipfile.is_zipfile(path) else "onnx")
    if fmt == "onnx":
        import onnx

        try:
            proto = onnx.load(str(path), load_external_data=False)
        except Exception as exc:
            raise CvkitError(f"{path}: not a readable ONNX model ({type(exc).__name__}: {exc})") from None
        props = {p.key: p.value for p in proto.metadata_props}
        if META_KEY not in props:
            raise CvkitError(f"{path}: an ONNX model without cvkit metadata; export it with `cvkit export`")
        return ExportMeta.from_json(props[META_KEY], str(path))
    extra = {META_KEY: ""}
    try:
        _jit_load(str(path), extra)
    except Exception as exc:
        raise CvkitError(f"{path}: not a readable TorchScript file ({type(exc).__name__}: {exc})") from None
    if not extra[META_KEY]:
        raise CvkitError(f"{path}: a TorchScript file without cvkit metadata; export it with `cvkit export`")
    return ExportMeta.from_json(extra[META_KEY], str(path))


class ExportedModel(nn.Module):
    """Base class of the runners: batching, output nesting and device handling; subclasses run flat outputs."""

    backend = ""

    def __init__(self, meta: ExportMeta, where: str, run_device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.meta, self.where = meta, where
        self.run_device = torch.device(run_device)
        self._spec = pytree.treespec_loads(meta.output_spec)

    @property
    def task_name(self) -> str:
        return self.meta.task

    def forward(self, images: torch.Tensor) -> Any:
        if not isinstance(images, torch.Tensor):
            raise CvkitError(f"{self.where}: expected one batch tensor, got {type(images).__name__}")
        expected = tuple(self.meta.input_size)
        if tuple(images.shape[1:]) != expected:
            raise CvkitError(f"{self.where}: exported for inputs of shape (N, {', '.join(map(str, expected))}), "
                             f"got {tuple(images.shape)}; predict at the exported --img-size")
        device = images.device
        x = images.detach().to(self.run_device, torch.float32).contiguous()
        fixed = self.meta.batch_size
        if fixed is None or x.shape[0] == fixed:
            out = pytree.tree_unflatten(self._run(x), self._spec)
        elif self.per_image:
            out = [item for start in range(0, x.shape[0], fixed) for item in self._run_per_image(x, start, fixed)]
        else:
            out = pytree.tree_unflatten(self._run_chunks(x, fixed), self._spec)
        return pytree.tree_map(lambda t: t.to(device) if isinstance(t, torch.Tensor) else t, out)

    @property
    def per_image(self) -> bool:
        """Outputs are a list with one entry per image (torchvision detectors): chunks concatenate as lists."""
        spec = self._spec
        return spec.type is list and self.meta.batch_size is not None and spec.num_children == self.meta.batch_size

    def _pad(self, x: torch.Tensor, start: int, size: int) -> tuple[torch.Tensor, int]:
        chunk = x[start:start + size]
        n = chunk.shape[0]
        if n < size:  # pad with copies of the last image; their outputs are dropped
            chunk = torch.cat([chunk, chunk[-1:].expand(size - n, *chunk.shape[1:])])
        return chunk, n

    def _run_per_image(self, x: torch.Tensor, start: int, size: int) -> list[Any]:
        chunk, n = self._pad(x, start, size)
        return pytree.tree_unflatten(self._run(chunk), self._spec)[:n]

    def _run_chunks(self, x: torch.Tensor, size: int) -> list[torch.Tensor]:
        parts: list[list[torch.Tensor]] = []
        for start in range(0, x.shape[0], size):
            chunk, n = self._pad(x, start, size)
            parts.append([t[:n] if t.ndim and t.shape[0] == size else t for t in self._run(chunk)])
        return [torch.cat([p[i] for p in parts]) for i in range(len(parts[0]))]

    def _run(self, x: torch.Tensor) -> list[torch.Tensor]:
        raise NotImplementedError


class OnnxRuntimeModel(ExportedModel):
    backend = "onnxruntime"

    def __init__(self, model: str | Path | bytes, meta: ExportMeta, where: str, device: str | torch.device = "cpu",
                 threads: int | None = None) -> None:
        super().__init__(meta, where)
        import onnxruntime as ort

        from cvkit.runtime import session

        providers = ["CPUExecutionProvider"]
        if torch.device(device).type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        source = model if isinstance(model, bytes) else str(model)
        self.session = session(source, where, threads, providers)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.input_name = self.input_names[0]

    def _run(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = self.session.run(None, {self.input_name: x.cpu().numpy()})
        return [torch.from_numpy(o) for o in outs]


class TorchScriptModel(ExportedModel):
    backend = "torchscript"

    def __init__(self, module: torch.jit.ScriptModule, meta: ExportMeta, where: str,
                 device: str | torch.device = "cpu") -> None:
        super().__init__(meta, where, device)
        self.module_ = module.to(self.run_device)

    def _run(self, x: torch.Tensor) -> list[torch.Tensor]:
        with torch.no_grad():
            out = self.module_(x)
        return [t if isinstance(t, torch.Tensor) else torch.as_tensor(t) for t in pytree.tree_leaves(out)]


def open_exported(path: str | Path | None = None, data: bytes | None = None, fmt: str | None = None,
                  device: str | torch.device = "cpu", threads: int | None = None) -> ExportedModel:
    """A runner for the exported file ``path`` (or its bytes ``data`` with ``fmt``)."""
    where = str(path) if path is not None else f"exported {fmt} model"
    fmt = fmt or (format_of(path) if path is not None else None)
    if data is None:
        if path is None or not Path(path).is_file():
            raise CvkitError(f"{where}: no such file")
        if fmt is None:
            fmt = "torchscript" if zipfile.is_zipfile(path) else "onnx"
    if fmt == "onnx":
        meta = _onnx_meta(data if data is not None else Path(path).read_bytes(), where)
        return OnnxRuntimeModel(data if data is not None else Path(path), meta, where, device, threads)
    if fmt == "torchscript":
        extra = {META_KEY: ""}
        try:
            src: Any = io.BytesIO(data) if data is not None else str(path)
            module = _jit_load(src, extra)
        except Exception as exc:
            raise CvkitError(f"{where}: not a readable TorchScript file ({type(exc).__name__}: {exc})") from None
        if not extra[META_KEY]:
            raise CvkitError(f"{where}: a TorchScript file without cvkit metadata; export it with `cvkit export`")
        return TorchScriptModel(module.eval(), ExportMeta.from_json(extra[META_KEY], where), where, device)
    raise UsageError(f"{where}: unknown exported format {fmt!r} (expected .onnx or .torchscript)")


def _onnx_meta(data: bytes, where: str) -> ExportMeta:
    import onnx

    try:
        proto = onnx.load_model_from_string(data)
    except Exception as exc:
        raise CvkitError(f"{where}: not a readable ONNX model ({type(exc).__name__}: {exc})") from None
    props = {p.key: p.value for p in proto.metadata_props}
    if META_KEY not in props:
        raise CvkitError(f"{where}: an ONNX model without cvkit metadata; export it with `cvkit export`")
    return ExportMeta.from_json(props[META_KEY], where)


def load_exported(path: str | Path, task: str | None = None, device: str | torch.device = "cpu",
                  threads: int | None = None) -> tuple[Task, ExportedModel, ModelConfig, DatasetInfo]:
    """What ``cvkit predict --weights FILE`` needs: the task, the runner, the model config and dataset info."""
    from cvkit.plugin import get_task

    model = open_exported(path, device=device, threads=threads)
    if task is not None and task != model.meta.task:
        raise CvkitError(f"{path}: is an exported {model.meta.task!r} model, not {task!r}")
    names = getattr(model, "input_names", [model.meta.input_name])
    if len(names) > 1:
        raise UsageError(f"{path}: this exported {model.meta.task!r} model takes several inputs ({', '.join(names)}); "
                         f"it is for deployment through onnxruntime, and `cvkit predict` runs the checkpoint it was "
                         f"exported from ({model.meta.source})")
    return get_task(model.meta.task), model, model.meta.model, model.meta.info


def _jit_load(source: Any, extra: dict[str, Any]) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.load's deprecation notice
        return torch.jit.load(source, map_location="cpu", _extra_files=extra)
