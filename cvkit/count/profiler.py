"""One instrumented forward pass: per-layer output shapes, parameters, MACs, receptive fields, activations.

Module hooks say which layer is running; a dispatch mode sees every ATen call inside it (including the
functional ones a ``forward`` makes directly, such as attention products or residual adds), so MACs are
attributed to the innermost module running and nothing escapes the totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from cvkit.count.macs import op_macs
from cvkit.count.receptive import Field, FieldTracker, round_field, tensors

FLOAT32_BYTES = 4


@dataclass
class Layer:
    """One row of the table: one call of a module."""

    name: str
    type: str
    output_shape: list[int] | list[list[int]] | None
    params: int
    macs: int
    receptive_field: list[int | float] | None
    jump: list[int | float] | None
    activation_bytes: int
    trainable_params: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "output_shape": self.output_shape,
            "params": self.params,
            "macs": self.macs,
            "receptive_field": self.receptive_field,
            "jump": self.jump,
            "activation_bytes": self.activation_bytes,
        }


@dataclass
class _Frame:
    module: nn.Module
    name: str
    macs: int = 0
    layer: Layer | None = None
    children: int = 0


@dataclass
class _State:
    stack: list[_Frame] = field(default_factory=list)
    frames: list[_Frame] = field(default_factory=list)
    calls: dict[int, int] = field(default_factory=dict)


def full_args(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> list[Any]:
    """Positional arguments of an ATen call with keyword and default values filled in from its schema."""
    values = list(args)
    for arg in func._schema.arguments[len(values):]:
        if arg.name in kwargs:
            values.append(kwargs[arg.name])
        elif arg.has_default_value():
            values.append(arg.default_value)
        else:
            break
    return values


class _Dispatch(TorchDispatchMode):
    def __init__(self, state: _State, fields: FieldTracker) -> None:
        super().__init__()
        self.state, self.fields = state, fields

    def __torch_dispatch__(self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        values = full_args(func, args, kwargs)
        macs = op_macs(func, values, out)
        if macs and self.state.stack:
            self.state.stack[-1].macs += macs
        self.fields.propagate(func, values, out)
        return out


def call_model(model: nn.Module, example: Any) -> Any:
    """Call convention for example inputs: a tuple is unpacked, a dict passed as keywords, anything else
    (a tensor, a list of images) is the single argument."""
    if isinstance(example, tuple):
        return model(*example)
    if isinstance(example, dict):
        return model(**example)
    return model(example)


def profile(model: nn.Module, example: Any) -> tuple[list[Layer], Any]:
    """Run ``model`` once on ``example`` (eval mode, no grad) and return its rows in call order, and its output."""
    state, fields = _State(), FieldTracker()
    names = {id(m): n for n, m in model.named_modules()}
    handles = []

    def pre(module: nn.Module, inputs: Any) -> None:
        if state.stack:
            state.stack[-1].children += 1
        frame = _Frame(module, _call_name(state, names, module))
        state.stack.append(frame)
        state.frames.append(frame)

    def post(module: nn.Module, inputs: Any, output: Any) -> None:
        if not state.stack or state.stack[-1].module is not module:
            return
        frame = state.stack.pop()
        if isinstance(module, nn.Linear):
            _pointwise_field(fields, inputs, output)
        frame.layer = _row(frame, output, fields)

    for m in model.modules():
        handles.append(m.register_forward_pre_hook(pre))
        handles.append(m.register_forward_hook(post))
    fastpath = torch.backends.mha.get_fastpath_enabled()
    try:
        model.eval()
        # the fused attention kernels would hide the projections (and their modules) from the table
        torch.backends.mha.set_fastpath_enabled(False)
        with torch.no_grad(), _Dispatch(state, fields):
            fields.seed(example)
            output = call_model(model, example)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        for h in handles:
            h.remove()
    return _assign_params(model, state.frames, names), output


def _call_name(state: _State, names: dict[int, str], module: nn.Module) -> str:
    n = state.calls.get(id(module), 0) + 1
    state.calls[id(module)] = n
    name = names.get(id(module), type(module).__name__) or "(model)"
    return name if n == 1 else f"{name}#{n}"


def _pointwise_field(fields: FieldTracker, inputs: Any, output: Any) -> None:
    """A linear layer applied along the last dimension of a channels-last grid keeps the grid's field."""
    x = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
    if x is None or not isinstance(output, torch.Tensor):
        return
    f = fields.get(x)
    if isinstance(f, Field) and max(f.dims) < x.ndim - 1 and output.shape[:-1] == x.shape[:-1]:
        fields.set(output, f)


def _row(frame: _Frame, output: Any, fields: FieldTracker) -> Layer:
    outs = list(tensors(output))
    shapes = [list(int(s) for s in t.shape) for t in outs]
    shape: list[int] | list[list[int]] | None
    shape = shapes[0] if len(shapes) == 1 else (shapes or None)
    f = fields.get(outs[0]) if outs else None
    return Layer(
        name=frame.name,
        type=type(frame.module).__name__,
        output_shape=shape,
        params=0,
        macs=frame.macs,
        receptive_field=round_field(f.size) if isinstance(f, Field) else None,
        jump=round_field(f.jump) if isinstance(f, Field) else None,
        activation_bytes=sum(t.numel() for t in outs) * FLOAT32_BYTES,
    )


def _assign_params(model: nn.Module, frames: list[_Frame], names: dict[int, str]) -> list[Layer]:
    """Each parameter is listed once, on the first call of the module that owns it; a module's row is kept
    when it is a leaf or owns parameters or MACs. Modules never called get a row when they own parameters,
    so the rows always add up to the totals."""
    seen: set[int] = set()
    rows: list[Layer] = []

    def own(module: nn.Module) -> tuple[int, int]:
        total = trainable = 0
        for p in module.parameters(recurse=False):
            if id(p) in seen:
                continue
            seen.add(id(p))
            total += p.numel()
            trainable += p.numel() if p.requires_grad else 0
        return total, trainable

    called = set()
    for frame in frames:
        if frame.layer is None:  # the forward raised inside this module
            continue
        first = id(frame.module) not in called
        called.add(id(frame.module))
        params, trainable = own(frame.module) if first else (0, 0)
        leaf = next(iter(frame.module.children()), None) is None
        if leaf or params or frame.macs:
            frame.layer.params, frame.layer.trainable_params = params, trainable
            rows.append(frame.layer)
    for module in model.modules():
        if id(module) in called:
            continue
        params, trainable = own(module)
        if params:
            rows.append(Layer(f"{names.get(id(module)) or '(model)'} (not called)", type(module).__name__, None,
                              params, 0, None, None, 0, trainable))
    return rows
