"""Multiply-accumulate counts per ATen operator, by one stated convention.

One MAC is one multiplication followed by one addition; FLOPs are reported as 2 x MACs.

- convolution: ``Cout x H' x W' x (Cin / groups) x kH x kW`` per sample (the output grid times the weight
  size); transposed convolution: the *input* grid times the weight size. Bias adds are not counted.
- linear / matrix products: ``in x out`` per row (``M x K x N`` for ``[M, K] @ [K, N]``), batched products
  multiply by the batch.
- attention (``scaled_dot_product_attention``): the two products ``Q K^T`` and ``A V``.

Everything else (normalisation, activations, pooling, element-wise adds, resizing) counts as 0. These are the
figures torchvision publishes as GFLOPS for its models, and fvcore's with its ``batch_norm`` (and other
norm/pool/upsample) handles disabled; fvcore's defaults add 2 per element for each batch-norm in eval mode.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

aten = torch.ops.aten


def _numel(shape: Sequence[int]) -> int:
    return math.prod(int(s) for s in shape)


def _conv(args: Sequence[Any], out: Any) -> int:
    x, w = args[0], args[1]
    transposed = bool(args[6]) if len(args) > 6 else False
    grid = x.shape[2:] if transposed else out.shape[2:]
    return int(x.shape[0]) * _numel(grid) * _numel(w.shape)


def _mm(args: Sequence[Any], out: Any) -> int:
    a, b = args[0], args[1]
    return _numel(a.shape) * int(b.shape[-1])


def _addmm(args: Sequence[Any], out: Any) -> int:
    return _mm(args[1:], out)


def _mv(args: Sequence[Any], out: Any) -> int:
    return _numel(args[0].shape)


def _addmv(args: Sequence[Any], out: Any) -> int:
    return _numel(args[1].shape)


def _dot(args: Sequence[Any], out: Any) -> int:
    return int(args[0].numel())


def _attention(args: Sequence[Any], out: Any) -> int:
    q, k, v = args[0], args[1], args[2]
    rows = _numel(q.shape[:-1])  # batch x heads x query length
    keys = int(k.shape[-2])
    return rows * keys * int(q.shape[-1]) + rows * keys * int(v.shape[-1])


def _native_mha(args: Sequence[Any], out: Any) -> int:
    """Fused ``nn.MultiheadAttention`` (eval fast path): q/k/v and output projections, then the attention."""
    q, k = args[0], args[1]
    e = int(q.shape[-1])
    rows_q, rows_k = _numel(q.shape[:-1]), _numel(k.shape[:-1])
    return rows_q * e * e * 2 + rows_k * e * e * 2 + rows_q * int(k.shape[-2]) * e * 2


def _native_encoder_layer(args: Sequence[Any], out: Any) -> int:
    """Fused ``nn.TransformerEncoderLayer`` (eval fast path): self-attention plus the two feed-forward layers."""
    src, ffn_1 = args[0], args[15]
    rows, e = _numel(src.shape[:-1]), int(src.shape[-1])
    return rows * e * e * 4 + rows * int(src.shape[-2]) * e * 2 + rows * e * int(ffn_1.shape[0]) * 2


def _formulas() -> dict[Any, Callable[[Sequence[Any], Any], int]]:
    table: dict[Any, Callable[[Sequence[Any], Any], int]] = {
        aten.convolution: _conv,
        aten._convolution: _conv,
        aten.mm: _mm,
        aten.bmm: _mm,
        aten.addmm: _addmm,
        aten.baddbmm: _addmm,
        aten._addmm_activation: _addmm,
        aten.mv: _mv,
        aten.addmv: _addmv,
        aten.dot: _dot,
        aten._native_multi_head_attention: _native_mha,
        aten._transformer_encoder_layer_fwd: _native_encoder_layer,
    }
    for name in dir(aten):
        if name.startswith("_scaled_dot_product") and not name.endswith("backward"):
            table[getattr(aten, name)] = _attention
    return table


FORMULAS = _formulas()


def op_macs(func: Any, args: Sequence[Any], out: Any) -> int:
    """MACs of one dispatched ATen call (0 for operators outside the convention)."""
    formula = FORMULAS.get(func._overloadpacket)
    return formula(args, out) if formula is not None else 0
