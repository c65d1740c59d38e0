"""Torch-free prediction with exported ONNX models: decoding, preprocessing from the model's metadata,
onnxruntime, records and writers, and nothing else.

An exported model is meant to run where torch is not installed. ``cvkit predict --weights model.onnx`` takes
this path when the model's task declares a runtime (``TaskSpec.runtime``: ``"package.module:object"``, a module
that must not import torch) and nothing asks for torch-only work (``--save-vis``, ``--save-masks``,
``--task-arg``, a CUDA device); otherwise it runs the exported model through the task's torch code as before.

A task runtime supplies, without torch:

- ``preprocess(image, model) -> (array, meta)``: one decoded RGB uint8 HxWx3 image to the CHW float32 input the
  exported graph takes (``model`` is the exported model config: ``img_size``, ``mean``, ``std``, ``args``) and the
  per-image facts postprocessing needs (``meta``, e.g. the original size);
- ``postprocess(outputs, metas, info, conf) -> list[dict]``: the graph's outputs for a batch (numpy arrays, in
  the exported output order) to the task fields of each record, exactly as the task's ``record`` writes them;
- optionally ``csv_rows(record, info) -> list[dict]`` and ``extensions`` (input file suffixes).
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cvkit.console import progress_bar, progress_shown, warn
from cvkit.errors import BadInput, CvkitError
from cvkit.io.imagesize import IMAGE_EXTENSIONS, read_image_bytes
from cvkit.io.sources import chunks, count_sources, expand_sources
from cvkit.io.writers import Writer, make_writer

META_KEY = "cvkit.json"


class TaskRuntime(Protocol):
    def preprocess(self, image: np.ndarray, model: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]: ...

    def postprocess(self, outputs: list[np.ndarray], metas: list[dict[str, Any]], info: dict[str, Any],
                    conf: float | None) -> list[dict[str, Any]]: ...


@dataclass
class RuntimeStats:
    inputs: int = 0
    errors: int = 0
    seconds: float = 0.0


def read_onnx(path: Path) -> tuple[bytes, dict[str, Any]]:
    """The model's bytes and its cvkit metadata (a dict), reading the file once."""
    import onnx

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CvkitError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        proto = onnx.load_model_from_string(data)
    except Exception as exc:
        raise CvkitError(f"{path}: not a readable ONNX model ({type(exc).__name__}: {exc})") from None
    props = {p.key: p.value for p in proto.metadata_props}
    if META_KEY not in props:
        raise CvkitError(f"{path}: an ONNX model without cvkit metadata; export it with `cvkit export`")
    try:
        meta = json.loads(props[META_KEY])
        meta["task"], meta["model"], meta["dataset"]  # noqa: B018 - the fields this path needs
    except (ValueError, KeyError, TypeError) as exc:
        raise CvkitError(f"{path}: its cvkit metadata ({META_KEY}) is damaged: {exc}") from None
    return data, meta


def task_runtime(task: str) -> TaskRuntime | None:
    """The torch-free runtime the task's plugin declares, or None."""
    from cvkit.plugin import discover

    entry = discover().get(task)
    target = getattr(entry.spec, "runtime", "") if entry is not None and entry.spec is not None else ""
    if not target:
        return None
    module, _, attr = target.partition(":")
    try:
        obj = importlib.import_module(module)
        return getattr(obj, attr) if attr else obj
    except Exception as exc:
        warn(f"task {task!r}: its runtime {target} cannot be loaded ({type(exc).__name__}: {exc}); using torch")
        return None


def session(model: bytes | str, where: str, threads: int | None = None, providers: list[str] | None = None) -> Any:
    """An onnxruntime session tuned for throughput: every graph optimisation, one intra-op thread per core,
    sequential execution (the graph of a vision model has little parallel branching to exploit)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or _cores()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(model, options, providers=providers or ["CPUExecutionProvider"])
    except Exception as exc:
        raise CvkitError(f"{where}: onnxruntime cannot load it ({type(exc).__name__}: {exc})") from None


def _cores() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def decode(path: str) -> np.ndarray:
    """An image file to RGB uint8 HxWx3 (OpenCV), refusing decompression bombs from the header first."""
    import cv2

    data = read_image_bytes(path)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise BadInput(path, "not a readable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def run_onnx(path: Path, meta: dict[str, Any], model: bytes, runtime: TaskRuntime, sources: Iterable[str],
             writer: Writer, batch_size: int = 16, conf: float | None = None, total: int | None = None) -> RuntimeStats:
    """Predict ``sources`` with the exported model and write their records in input order."""
    sess = session(model, str(path))
    input_name = sess.get_inputs()[0].name
    fixed = meta.get("batch_size")
    model_cfg, info, task = meta["model"], meta["dataset"], meta["task"]
    csv_rows = getattr(runtime, "csv_rows", None)
    stats = RuntimeStats()
    start = time.perf_counter()

    def load(source: str) -> tuple[np.ndarray, dict[str, Any]] | str:
        try:
            return runtime.preprocess(decode(source), model_cfg)
        except BadInput as exc:
            return str(exc)

    def batches() -> Iterator[tuple[list[str], list[Any]]]:
        with ThreadPoolExecutor(max_workers=2) as pool:  # decode the next batch while the graph runs
            pending = None
            for chunk in chunks(sources, batch_size):
                future = pool.map(load, chunk)
                if pending is not None:
                    yield pending[0], list(pending[1])
                pending = (chunk, future)
            if pending is not None:
                yield pending[0], list(pending[1])

    with progress_bar("predict", total) as bar:
        for chunk, loaded in batches():
            ok = [i for i, item in enumerate(loaded) if not isinstance(item, str)]
            records: dict[int, dict[str, Any]] = {}
            if ok:
                x = np.stack([loaded[i][0] for i in ok]).astype(np.float32, copy=False)
                outputs = _run(sess, input_name, x, fixed)
                fields = runtime.postprocess(outputs, [loaded[i][1] for i in ok], info, conf)
                for i, f in zip(ok, fields, strict=True):
                    records[i] = {"source": chunk[i], "task": task, **f}
            for i, source in enumerate(chunk):
                if i not in records:
                    stats.errors += 1
                    warn(loaded[i])
                    rec = {"source": source, "error": loaded[i]}
                    writer.write(rec, [rec], [])
                    continue
                rec = records[i]
                rows = csv_rows(rec, info) if csv_rows else [{k: v for k, v in rec.items()
                                                              if not isinstance(v, (list, dict))}]
                writer.write(rec, rows, [])
            writer.flush()
            stats.inputs += len(chunk)
            bar.advance(len(chunk))
    stats.seconds = time.perf_counter() - start
    return stats


def _run(sess: Any, name: str, x: np.ndarray, fixed: int | None) -> list[np.ndarray]:
    """Run a batch; a graph exported with a fixed batch size runs it in chunks (the last one padded)."""
    if fixed is None or x.shape[0] == fixed:
        return sess.run(None, {name: x})
    parts: list[list[np.ndarray]] = []
    for start in range(0, x.shape[0], fixed):
        chunk = x[start:start + fixed]
        n = chunk.shape[0]
        if n < fixed:
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], fixed - n, axis=0)])
        parts.append([o[:n] if o.ndim and o.shape[0] == fixed else o for o in sess.run(None, {name: chunk})])
    return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]


def try_torch_free(weights: Path, task: str | None, sources: list[str], fmt: str, output: str, batch_size: int,
                   conf: float | None, backend: str, device: str, torch_only: bool) -> RuntimeStats | None:
    """Run ``cvkit predict`` without torch when it can (see the module docstring); None when it cannot."""
    if torch_only or weights.suffix.lower() != ".onnx" or device not in ("auto", "cpu") or \
            os.environ.get("CVKIT_ONNX_TORCH") == "1":
        return None
    if not weights.is_file():
        return None  # the torch path gives the usual error
    if device == "auto":
        import onnxruntime as ort

        if "CUDAExecutionProvider" in ort.get_available_providers():
            return None  # a GPU build: the torch path places inputs on the GPU
    model, meta = read_onnx(weights)
    if task is not None and task != meta["task"]:
        raise CvkitError(f"{weights}: is an exported {meta['task']!r} model, not {task!r}")
    runtime = task_runtime(meta["task"])
    if runtime is None:
        return None
    if fmt == "coco":
        return None  # COCO results need the task's coco_results (torch path)
    extensions = tuple(getattr(runtime, "extensions", IMAGE_EXTENSIONS))
    writer = make_writer(fmt, output)
    done = False
    try:
        total = count_sources(sources, extensions) if progress_shown() else None  # a bar with an ETA
        stats = run_onnx(weights, meta, model, runtime, expand_sources(sources, extensions), writer, batch_size,
                         conf, total)
        done = True
    finally:
        writer.close(done)
    return stats
