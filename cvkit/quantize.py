"""Reduced-precision ONNX exports: int8 (onnxruntime's quantisation tools) and fp16 (for GPUs).

int8 comes in two kinds. *Static* (the default) quantises weights per channel and activations per tensor in the QDQ
format, with activation ranges calibrated on real training images of the checkpoint's dataset (preprocessed
exactly as prediction preprocesses them). *Dynamic* quantises the weights of MatMul/Gemm-like operators ahead of
time and activations on the fly; it is what applies to models whose activations cannot be calibrated well
(recurrent and attention models) and it needs no data.

An int8 model is not verified by maximum difference (it is expected to differ) but by what it predicts: the task's
metric on validation images from the fp32 eager model and from the int8 model, and the agreement of their top-1
classes where the outputs are scores. The export is refused when the metric drops by more than ``max_drop``.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cvkit.errors import CvkitError

log = logging.getLogger(__name__)

METHODS = ("static", "dynamic")


@dataclass
class Calibration:
    """What the activation ranges of a static int8 model were calibrated on (stored in its metadata)."""

    method: str  # "static" or "dynamic"
    samples: int  # calibration images (0 for dynamic)
    source: str  # where they came from
    per_channel: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Reader:
    """An onnxruntime ``CalibrationDataReader`` over preprocessed batches (numpy float32)."""

    def __init__(self, name: str, batches: list[np.ndarray]) -> None:
        self.name, self.batches = name, batches
        self._it: Iterator[np.ndarray] = iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._it, None)
        return None if batch is None else {self.name: batch}

    def rewind(self) -> None:
        self._it = iter(self.batches)


def calibration_batches(task: Any, ckpt: Any, samples: int, batch_size: int | None) -> tuple[list[np.ndarray], str]:
    """Up to ``samples`` training images of the checkpoint's dataset, preprocessed with the evaluation transform
    (the one prediction uses), in batches of the exported ``batch_size`` (None: a dynamic batch, any size)."""
    from cvkit.data import load_split

    last_error: Exception | None = None
    for split in dict.fromkeys(("train", ckpt.info.split, "val")):
        try:
            raw = load_split(task, ckpt.info.spec or None, split)
            dataset = task.dataset(raw, ckpt.model, train=False)
        except Exception as exc:  # the dataset moved or cannot be read: try another split, then give up
            last_error = exc
            continue
        n = min(samples, len(dataset))
        if n == 0:
            continue
        step = max(len(dataset) // n, 1)  # spread over the split rather than the first n (often one class)
        picks = [dataset[i * step] for i in range(n)]
        x = task.collate(picks).inputs
        if not isinstance(x, torch.Tensor):
            raise CvkitError(f"task {task.name!r} models take {type(x).__name__} inputs; int8 export needs one tensor")
        x = x.float().numpy()
        if batch_size is None:
            batches = [x[i:i + 16] for i in range(0, n, 16)]
        else:  # a fixed exported batch: whole batches only
            batches = [x[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)] or [x[:batch_size]]
        used = sum(b.shape[0] for b in batches)
        return batches, f"{used} {split} image(s) of {raw.info.spec}"
    raise CvkitError(f"no calibration images: the checkpoint's dataset {ckpt.info.spec or '(embedded)'} cannot be "
                     f"read ({last_error}); use --int8-method dynamic, which needs no data")


def quantize_int8(fp32: bytes, method: str, input_name: str, batches: list[np.ndarray] | None,
                  per_channel: bool = True) -> bytes:
    """Quantise an fp32 ONNX model (bytes) to int8 and return the new model's bytes. Metadata is kept."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if method not in METHODS:
        raise CvkitError(f"--int8-method {method!r}: expected one of {', '.join(METHODS)}")
    props = [(p.key, p.value) for p in onnx.load_model_from_string(fp32).metadata_props]
    with tempfile.TemporaryDirectory(prefix="cvkit-int8-") as tmp:
        src, pre, out = (os.path.join(tmp, name) for name in ("fp32.onnx", "pre.onnx", "int8.onnx"))
        Path(src).write_bytes(fp32)
        try:
            quant_pre_process(src, pre, skip_symbolic_shape=True)
        except Exception as exc:  # pre-processing only helps; quantise the model as exported
            log.debug("quantisation pre-processing skipped: %s", exc)
            pre = src
        try:
            if method == "static":
                if not batches:
                    raise CvkitError("static int8 quantisation needs calibration images")
                quantize_static(pre, out, _Reader(input_name, batches), quant_format=QuantFormat.QDQ,
                                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                                per_channel=per_channel)
            else:
                quantize_dynamic(pre, out, weight_type=QuantType.QInt8, per_channel=per_channel)
        except CvkitError:
            raise
        except Exception as exc:
            raise CvkitError(f"int8 quantisation ({method}) failed: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:200] if str(exc) else ''}") from None
        model = onnx.load(out)
    del model.metadata_props[:]
    for key, value in props:
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    return model.SerializeToString()


def to_half(fp32: bytes) -> bytes:
    """An fp16 copy of an fp32 ONNX model with float32 inputs and outputs kept (meant for GPU execution)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load_model_from_string(fp32)
    try:
        half = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=True)
    except Exception as exc:
        raise CvkitError(f"fp16 conversion failed: {type(exc).__name__}: {exc}") from None
    return half.SerializeToString()


@dataclass
class Agreement:
    """fp32 eager vs reduced-precision model on the same validation images."""

    data: str
    samples: int
    metric: str
    before: float
    after: float
    top1_agreement: float | None
    max_drop: float
    passed: bool

    @property
    def drop(self) -> float:
        return self.before - self.after

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "drop": self.drop}


def verify_by_metric(runner: nn.Module, model: nn.Module, task: Any, ckpt: Any, samples: int, batch_size: int,
                     max_drop: float) -> Agreement:
    """The task's primary metric from the eager model and from ``runner`` on up to ``samples`` validation images,
    and their top-1 agreement where the raw outputs are per-sample scores."""
    from cvkit.data import load_split
    from cvkit.engine.evaluate import evaluate_model

    raw = None
    for split in dict.fromkeys(("val", ckpt.info.split, "test")):
        try:
            raw = load_split(task, ckpt.info.spec or None, split)
            break
        except Exception as exc:
            log.debug("verification split %s unavailable: %s", split, exc)
    if raw is None:
        raise CvkitError(f"cannot verify: the checkpoint's dataset {ckpt.info.spec or '(embedded)'} has no readable "
                         "validation split; --no-verify writes the model unverified")
    dataset = task.dataset(raw, ckpt.model, train=False)
    if samples and samples < len(dataset):
        dataset = _Subset(dataset, samples)
    cpu = torch.device("cpu")
    ref = evaluate_model(task, model, dataset, cpu, batch_size, show_progress=False)
    got = evaluate_model(task, runner, dataset, cpu, batch_size, show_progress=False)
    agree = _top1_agreement(runner, model, task, dataset, batch_size)
    before, after = float(ref.metrics[ref.primary]), float(got.metrics[got.primary])
    drop = before - after if ref.higher_is_better else after - before
    return Agreement(f"{len(dataset)} {raw.info.split} image(s) of {raw.info.spec}", len(dataset), ref.primary,
                     before, after, agree, max_drop, drop <= max_drop + 1e-12)


class _Subset(torch.utils.data.Dataset):
    """The first ``n`` samples of a TaskDataset, spread over it, keeping its interface (info, target, source)."""

    def __init__(self, base: Any, n: int) -> None:
        self.base, self.info = base, base.info
        step = len(base) / n
        self.indices = [int(i * step) for i in range(n)]
        self.random_transforms = getattr(base, "random_transforms", False)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Any:
        return self.base[self.indices[i]]

    def source(self, i: int) -> str:
        return self.base.source(self.indices[i])

    def target(self, i: int) -> Any:
        return self.base.target(self.indices[i])

    def __getattr__(self, name: str) -> Any:  # anything else a task reads from its dataset
        if name in ("base", "indices", "info", "random_transforms"):
            raise AttributeError(name)
        return getattr(self.base, name)


def _top1_agreement(runner: nn.Module, model: nn.Module, task: Any, dataset: Any, batch_size: int) -> float | None:
    same = total = 0
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            batch = task.collate([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
            if not isinstance(batch.inputs, torch.Tensor):
                return None
            a, b = model(batch.inputs), runner(batch.inputs)
            if not (isinstance(a, torch.Tensor) and a.ndim == 2 and a.shape[1] > 1):
                return None
            same += int((a.argmax(1) == b.argmax(1)).sum())
            total += a.shape[0]
    return same / total if total else None
