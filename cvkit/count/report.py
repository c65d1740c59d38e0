"""The result of a count: totals and rows, as a JSON document or rich tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from cvkit.count.profiler import Layer

FLOPS_NOTE = "FLOPs = 2 x MACs (one multiply-accumulate is two floating-point operations)"


@dataclass
class CountReport:
    model: str
    task: str | None
    input_size: tuple[int, ...]
    params: int
    trainable_params: int
    weight_bytes: int
    macs: int | None = None
    activation_bytes: int | None = None
    layers: list[Layer] = field(default_factory=list)
    forward_error: str | None = None

    @classmethod
    def params_only(cls, model: nn.Module, input_size: tuple[int, ...], label: str,
                    task: str | None) -> CountReport:
        params = list(model.parameters())  # unique: shared parameters are listed once
        weight = sum(p.numel() * p.element_size() for p in params)
        weight += sum(b.numel() * b.element_size() for b in model.buffers())
        return cls(label, task, tuple(input_size), sum(p.numel() for p in params),
                   sum(p.numel() for p in params if p.requires_grad), weight)

    @property
    def flops(self) -> int | None:
        return None if self.macs is None else 2 * self.macs

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "model": self.model,
            "task": self.task,
            "input_size": list(self.input_size),
            "params": self.params,
            "trainable_params": self.trainable_params,
            "macs": self.macs,
            "flops": self.flops,
            "activation_bytes": self.activation_bytes,
            "weight_bytes": self.weight_bytes,
            "layers": [r.to_dict() for r in self.layers],
        }
        if self.forward_error:
            doc["forward_error"] = self.forward_error
        return doc

    # ------------------------------------------------------------------ tables
    def render(self, console: Any, per_layer: bool = False) -> None:
        """Print the per-layer table (optional) and the totals on ``console`` (stdout: these are results)."""
        from rich.table import Table

        if per_layer and self.layers:
            table = Table(title=f"{self.model}, input {_shape(self.input_size)}", title_justify="left")
            for col, just in (("layer", "left"), ("type", "left"), ("output shape", "left"),
                              ("params", "right"), ("MACs", "right"), ("receptive field", "right"),
                              ("jump", "right"), ("activations", "right")):
                table.add_column(col, justify=just, overflow="fold")
            for r in self.layers:
                table.add_row(r.name, r.type, _out_shape(r.output_shape), f"{r.params:,}", f"{r.macs:,}",
                              _pair(r.receptive_field), _pair(r.jump), _bytes(r.activation_bytes))
            console.print(table)
        totals = Table(title=None if per_layer else f"{self.model}, input {_shape(self.input_size)}",
                       title_justify="left", show_header=False)
        totals.add_column("what")
        totals.add_column("value", justify="right")
        totals.add_column("note")
        totals.add_row("parameters", f"{self.params:,}", "sum of p.numel() over unique parameters")
        totals.add_row("trainable parameters", f"{self.trainable_params:,}", "")
        if self.macs is not None:
            totals.add_row("MACs", f"{self.macs:,}", f"{_si(self.macs)}MAC; conv/linear/matmul/attention")
            totals.add_row("FLOPs", f"{self.flops:,}", f"{_si(self.flops)}FLOP = 2 x MACs")
            totals.add_row("activation memory", _bytes(self.activation_bytes or 0),
                           "float32 outputs of the listed layers, batch 1")
        totals.add_row("weight size", _bytes(self.weight_bytes), "parameters + buffers as stored")
        if self.forward_error:
            totals.add_row("forward pass", "failed", f"{self.forward_error} (MACs and shapes unavailable)")
        console.print(totals)


def _shape(size: tuple[int, ...] | list[int]) -> str:
    return "x".join(str(s) for s in size)


def _out_shape(shape: Any) -> str:
    if shape is None:
        return "-"
    if shape and isinstance(shape[0], list):
        return ", ".join(_shape(s) for s in shape)
    return _shape(shape)


def _pair(values: list[Any] | None) -> str:
    if not values:
        return ""
    return str(values[0]) if values[0] == values[1] else f"{values[0]}x{values[1]}"


def _si(n: float | None) -> str:
    n = float(n or 0)
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.3f} {unit}"
    return f"{n:.0f} "


def _bytes(n: int) -> str:
    return f"{n / 1e6:,.2f} MB" if n >= 1e5 else f"{n:,} B"
