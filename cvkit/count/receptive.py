"""Receptive fields: how many input pixels each activation sees, and how far apart neighbouring activations sit.

Each tensor on the spatial path carries a :class:`Field`: the theoretical receptive field size (rows, columns)
and the jump (the distance in input pixels between adjacent positions of the tensor's grid), plus which of its
dimensions are the grid's height and width. The field is propagated through every ATen call of a forward pass:

- convolution / pooling with kernel ``k``, stride ``s``, dilation ``d``: ``size += (d(k-1)) x jump``,
  ``jump *= s`` (the standard recurrence; padding shifts the field but does not change its size);
- adaptive pooling: the largest window it uses, and the average stride; global pooling (mean over the grid)
  covers every position: ``size += (H-1) x jump``, ``jump *= H``;
- resizing: ``jump x= H_in / H_out``; bilinear adds one input step, bicubic three;
- element-wise ops, concatenation along channels, padding, permutes and views that keep the grid: the largest
  field among the inputs (contributions through global context, such as squeeze-and-excitation gates that
  broadcast a 1x1 map back over the grid, are not counted).

A tensor whose grid has been flattened into tokens or vectors is off the spatial path: its field is
:data:`LOST`, and so is every tensor mixed with it, so the table shows no value rather than a wrong one.
Sizes are theoretical: they may exceed the input (padding counts as pixels).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.weak import WeakTensorKeyDictionary

aten = torch.ops.aten


@dataclass(frozen=True)
class Field:
    size: tuple[float, float]  # receptive field (rows, columns) in input pixels
    jump: tuple[float, float]  # input pixels between adjacent grid positions
    dims: tuple[int, int]  # tensor dimensions holding the grid's height and width

    def moved(self, dims: tuple[int, int]) -> Field:
        return Field(self.size, self.jump, dims)


LOST = "lost"  # the grid was flattened or mixed with something that is not a grid

WINDOW_OPS = {aten.max_pool2d_with_indices, aten.max_pool3d_with_indices, aten.avg_pool2d, aten.avg_pool3d}
ADAPTIVE_OPS = {aten._adaptive_avg_pool2d, aten._adaptive_avg_pool3d, aten.adaptive_max_pool2d,
                aten.adaptive_max_pool3d}
REDUCE_OPS = {aten.mean, aten.sum, aten.amax, aten.amin}  # (self, dim, keepdim, ...)
RESIZE_TAPS = {aten.upsample_nearest2d: 0, aten._upsample_nearest_exact2d: 0, aten.upsample_nearest3d: 0,
               aten.upsample_bilinear2d: 1, aten._upsample_bilinear2d_aa: 1, aten.upsample_trilinear3d: 1,
               aten.upsample_bicubic2d: 3, aten._upsample_bicubic2d_aa: 3}
PAD_OPS = {aten.constant_pad_nd, aten.reflection_pad2d, aten.replication_pad2d, aten.reflection_pad3d,
           aten.replication_pad3d}


def tensors(obj: Any) -> Iterator[torch.Tensor]:
    """Tensors nested in lists, tuples and dicts, in order."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from tensors(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from tensors(o)


def _pair(v: Any, default: Sequence[int]) -> tuple[int, int]:
    v = list(v) if isinstance(v, (list, tuple)) else ([v] if v is not None else [])
    if not v:
        v = list(default)
    if len(v) == 1:
        v = v * 2
    return int(v[-2]), int(v[-1])


def _grid_last(field: Field, t: torch.Tensor) -> bool:
    return field.dims == (t.ndim - 2, t.ndim - 1)


class FieldTracker:
    """Receptive fields of the tensors seen in one forward pass."""

    def __init__(self) -> None:
        self.fields: WeakTensorKeyDictionary = WeakTensorKeyDictionary()

    def seed(self, example: Any) -> None:
        """Mark image inputs (``(C, H, W)`` or batched) as the origin: a 1x1 field with jump 1."""
        for t in tensors(example):
            if t.ndim >= 3:
                self.fields[t] = Field((1.0, 1.0), (1.0, 1.0), (t.ndim - 2, t.ndim - 1))

    def get(self, t: torch.Tensor) -> Field | str | None:
        return self.fields.get(t)

    def set(self, t: torch.Tensor, field: Field | str | None) -> None:
        if field is not None:
            self.fields[t] = field

    # ------------------------------------------------------------------ propagation
    def propagate(self, func: Any, args: Sequence[Any], out: Any) -> None:
        sources = [(t, self.fields.get(t)) for t in tensors(list(args))]
        sources = [(t, f) for t, f in sources if f is not None]
        if not sources:
            return
        outs = list(tensors(out))
        if not outs:
            return
        packet = func._overloadpacket
        first_t, first = sources[0]
        special = self._special(packet, args, first_t, first, outs[0])
        if special is not NotImplemented:
            for o in outs:
                self.set(o, special if o.shape == outs[0].shape else LOST)
            self._to_base(outs[0], special, packet)
            return
        for o in outs:
            result = self._generic(sources, o)
            self.set(o, result)
            self._to_base(o, result, packet)

    def _to_base(self, out: torch.Tensor, field: Field | str | None, packet: Any) -> None:
        """An in-place write into a view (e.g. copying an image into a padded batch) marks the base tensor."""
        if not isinstance(field, Field) or not packet.__name__.endswith("_"):
            return
        base = getattr(out, "_base", None)
        if base is None or base.ndim < out.ndim or self.fields.get(base) is not None:
            return
        shift = base.ndim - out.ndim
        self.fields[base] = field.moved((field.dims[0] + shift, field.dims[1] + shift))

    def _special(self, packet: Any, args: Sequence[Any], x: torch.Tensor, f: Field | str,
                 out: torch.Tensor) -> Field | str | None:
        if packet in (aten.convolution, aten._convolution):
            if not isinstance(f, Field):
                return LOST
            w = args[1]
            if w.ndim < 4 or not _grid_last(f, x) or args[0] is not x:
                return LOST
            k = (int(w.shape[-2]), int(w.shape[-1]))
            s, d = _pair(args[3], (1,)), _pair(args[5], (1,))
            if bool(args[6]):  # transposed: output positions are 1/s input steps apart
                jump = (f.jump[0] / s[0], f.jump[1] / s[1])
                size = tuple(f.size[i] + (math.ceil((d[i] * (k[i] - 1) + 1) / s[i]) - 1) * f.jump[i] for i in (0, 1))
                return Field(size, jump, (out.ndim - 2, out.ndim - 1))
            return _window(f, k, s, d, out)
        if packet in WINDOW_OPS:
            if not isinstance(f, Field) or not _grid_last(f, x):
                return LOST
            k = _pair(args[1], (1,))
            s = _pair(args[2] if len(args) > 2 else None, k)
            d = _pair(args[4], (1,)) if packet in (aten.max_pool2d_with_indices, aten.max_pool3d_with_indices) \
                and len(args) > 4 else (1, 1)
            return _window(f, k, s, d, out)
        if packet in ADAPTIVE_OPS:
            if not isinstance(f, Field) or not _grid_last(f, x):
                return LOST
            k, s = [], []
            for n_in, n_out in zip(x.shape[-2:], out.shape[-2:], strict=True):
                n_in, n_out = int(n_in), int(n_out)
                k.append(max(math.ceil((i + 1) * n_in / n_out) - (i * n_in) // n_out for i in range(n_out)))
                s.append(n_in / n_out)
            return _window(f, tuple(k), tuple(s), (1, 1), out)
        if packet in REDUCE_OPS:
            return self._reduce(args, x, f, out)
        if packet in RESIZE_TAPS:
            if not isinstance(f, Field) or not _grid_last(f, x):
                return LOST
            taps = RESIZE_TAPS[packet]
            scale = (int(x.shape[-2]) / int(out.shape[-2]), int(x.shape[-1]) / int(out.shape[-1]))
            size = (f.size[0] + taps * f.jump[0], f.size[1] + taps * f.jump[1])
            return Field(size, (f.jump[0] * scale[0], f.jump[1] * scale[1]), (out.ndim - 2, out.ndim - 1))
        if packet in PAD_OPS:
            return f if isinstance(f, Field) and out.ndim == x.ndim else LOST
        if packet is aten.permute and isinstance(f, Field) and args[0] is x:
            order = [int(d) % x.ndim for d in args[1]]
            return f.moved((order.index(f.dims[0]), order.index(f.dims[1])))
        if packet is aten.transpose and isinstance(f, Field) and args[0] is x:
            a, b = int(args[1]) % x.ndim, int(args[2]) % x.ndim
            swap = {a: b, b: a}
            return f.moved((swap.get(f.dims[0], f.dims[0]), swap.get(f.dims[1], f.dims[1])))
        if packet is aten.slice and isinstance(f, Field) and args[0] is x and out.ndim == x.ndim:
            dim = int(args[1]) % x.ndim
            step = int(args[4]) if len(args) > 4 else 1
            if dim in f.dims:
                i = f.dims.index(dim)
                jump = list(f.jump)
                jump[i] *= step
                return Field(f.size, (jump[0], jump[1]), f.dims)
        return NotImplemented

    def _reduce(self, args: Sequence[Any], x: torch.Tensor, f: Field | str, out: torch.Tensor) -> Any:
        if not isinstance(f, Field) or args[0] is not x or len(args) < 2 or args[1] is None:
            return NotImplemented
        dims = args[1] if isinstance(args[1], (list, tuple)) else [args[1]]
        dims = {int(d) % x.ndim for d in dims}
        if not dims & set(f.dims):
            return NotImplemented
        keepdim = bool(args[2]) if len(args) > 2 else False
        if not keepdim:
            return LOST
        size, jump = list(f.size), list(f.jump)
        for i, d in enumerate(f.dims):
            if d in dims:
                n = int(x.shape[d])
                size[i] += (n - 1) * jump[i]
                jump[i] *= n
        return Field((size[0], size[1]), (jump[0], jump[1]), f.dims)

    def _generic(self, sources: list[tuple[torch.Tensor, Any]], out: torch.Tensor) -> Field | str | None:
        carried: list[Field] = []
        lost = False
        for t, f in sources:
            if f == LOST:
                lost = lost or not _broadcast(t, out)
                continue
            c = carry(f, t, out)
            if c is not None:
                carried.append(c)
            elif not _broadcast(t, out):
                lost = True
        if lost:
            return LOST
        if not carried:
            return None
        size = (max(c.size[0] for c in carried), max(c.size[1] for c in carried))
        jump = (max(c.jump[0] for c in carried), max(c.jump[1] for c in carried))
        return Field(size, jump, carried[0].dims)


def _window(f: Field, k: Sequence[int], s: Sequence[float], d: Sequence[int], out: torch.Tensor) -> Field:
    size = tuple(f.size[i] + d[i] * (k[i] - 1) * f.jump[i] for i in (0, 1))
    jump = tuple(f.jump[i] * s[i] for i in (0, 1))
    return Field((size[0], size[1]), (jump[0], jump[1]), (out.ndim - 2, out.ndim - 1))


def carry(f: Field, t: torch.Tensor, out: torch.Tensor) -> Field | None:
    """The field of ``out`` if it keeps ``t``'s grid (same positions, or the same trailing dimensions)."""
    h, w = f.dims
    if out.ndim == t.ndim and out.shape[h] == t.shape[h] and out.shape[w] == t.shape[w]:
        return f
    tail = t.ndim - h
    if out.ndim >= tail and tuple(out.shape[-tail:]) == tuple(t.shape[h:]):
        shift = out.ndim - t.ndim
        return f.moved((h + shift, w + shift))
    return None


def _broadcast(t: torch.Tensor, out: torch.Tensor) -> bool:
    """A smaller tensor broadcast over ``out`` (a squeeze-and-excitation gate, a per-channel scale): it
    modulates every position alike and adds no spatial extent."""
    if t.ndim > out.ndim or t.numel() >= out.numel():
        return False
    return all(a == 1 or a == b for a, b in zip(reversed(t.shape), reversed(out.shape), strict=False))


def round_field(values: tuple[float, float] | None) -> list[int | float] | None:
    """``[rows, columns]`` as integers when whole (fractions appear after resizing)."""
    if values is None:
        return None
    return [int(round(v)) if abs(v - round(v)) < 1e-6 else round(v, 3) for v in values]
