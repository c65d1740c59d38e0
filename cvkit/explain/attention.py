"""``attention``: attention rollout (Abnar & Zuidema 2020) of a Vision Transformer over its input image.

Works for any model whose self-attention layers are ``torch.nn.MultiheadAttention`` modules run over a class
token followed by a square grid of patch tokens: cvkit's ``vit-tiny`` and torchvision's ``vit_*`` models. Each
layer's attention weights (B, T, T) are taken (``head_fusion``: ``mean``, ``max`` or ``min`` over heads), the
lowest ``discard_ratio`` of each row set to zero (never the class token's), the identity added for the residual
path (``0.5 A + 0.5 I``) and rows renormalised; the product of these matrices from the first layer to the last
gives how much each input token flows into each output token. The class token's row, without itself, reshaped to
the patch grid, is the map: where the prediction draws its information from.

Options (``--option``): ``head_fusion=mean``, ``discard_ratio=0.0``; per-input kinds read ``count`` and
``query_split`` as the others do. Every picture has a JSON sidecar with the map and the prediction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cvkit.errors import UsageError
from cvkit.explain import render
from cvkit.explain.context import ExplainContext

FUSIONS = ("mean", "max", "min")


def attention_layers(model: nn.Module) -> list[nn.MultiheadAttention]:
    layers = [m for m in model.modules() if isinstance(m, nn.MultiheadAttention)]
    if not layers:
        raise UsageError("visualize attention needs a Vision Transformer (a model with nn.MultiheadAttention "
                         "layers, e.g. classify's vit-tiny or torchvision's vit_b_16)")
    return layers


@torch.no_grad()
def attention_maps(model: nn.Module, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Per-head attention weights ``(B, heads, T, T)`` of every attention layer in execution order, and the
    model's output, for input batch ``x``. The layers are asked for their weights for this call only."""
    found: list[tuple[int, torch.Tensor]] = []
    handles = []

    def pre_hook(module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        return args, {**kwargs, "need_weights": True, "average_attn_weights": False}

    def post_hook(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        found.append((len(found), output[1]))

    for layer in attention_layers(model):
        handles.append(layer.register_forward_pre_hook(pre_hook, with_kwargs=True))
        handles.append(layer.register_forward_hook(post_hook, with_kwargs=True))
    was = model.training
    model.eval()
    try:
        out = model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was)
    return [w for _, w in found], out


def rollout(weights: list[torch.Tensor], head_fusion: str = "mean", discard_ratio: float = 0.0) -> torch.Tensor:
    """The rollout matrix ``(B, T, T)`` of per-layer weights ``(B, heads, T, T)``."""
    if head_fusion not in FUSIONS:
        raise UsageError(f"head_fusion={head_fusion}: choose from {', '.join(FUSIONS)}")
    if not 0.0 <= discard_ratio < 1.0:
        raise UsageError(f"discard_ratio={discard_ratio}: expected 0 <= ratio < 1")
    result = None
    for w in weights:
        a = {"mean": w.mean(1), "max": w.amax(1), "min": w.amin(1)}[head_fusion].float()
        t = a.shape[-1]
        if discard_ratio > 0:
            k = int(t * discard_ratio)
            if k:
                low = a.topk(k, -1, largest=False).indices
                keep_cls = torch.zeros_like(a, dtype=torch.bool)
                keep_cls[..., 0] = True
                drop = torch.zeros_like(a, dtype=torch.bool).scatter_(-1, low, True) & ~keep_cls
                a = a.masked_fill(drop, 0.0)
        a = 0.5 * a + 0.5 * torch.eye(t, device=a.device)
        a = a / a.sum(-1, keepdim=True)
        result = a if result is None else a @ result
    assert result is not None
    return result


def cls_map(roll: torch.Tensor) -> np.ndarray:
    """The class token's row without itself, as a square ``(g, g)`` grid per image ``(B, g, g)``."""
    row = roll[:, 0, 1:]
    side = int(round(row.shape[1] ** 0.5))
    if side * side != row.shape[1]:
        raise UsageError(f"visualize attention: {row.shape[1]} patch tokens do not form a square grid")
    return row.reshape(-1, side, side).cpu().numpy()


def run(ctx: ExplainContext) -> list[Path]:
    fusion = str(ctx.opt("head_fusion", "mean"))
    discard = float(ctx.opt("discard_ratio", 0.0))
    paths: list[Path] = []
    for i, (source, x) in enumerate(ctx.query_inputs("attention")):
        weights, out = attention_maps(ctx.model, x.to(ctx.device)[None])
        grid = cls_map(rollout(weights, fusion, discard))[0]
        probs = out[0].float().softmax(0)
        predicted = int(probs.argmax())
        image = render.enlarge(ctx.to_image(x))
        label = f"{ctx.class_name(predicted)} p={float(probs[predicted]):.2f}"
        panel = render.hstack([
            render.caption(image, source),
            render.caption(render.enlarge(render.to_rgb((render.normalise(grid) * 255).astype(np.uint8))),
                           f"rollout ({len(weights)} layers)"),
            render.caption(render.overlay(image, grid), label),
        ])
        numbers = {"kind": "attention", "source": source, "predicted": predicted,
                   "predicted_name": ctx.class_name(predicted), "prob": float(probs[predicted]),
                   "layers": len(weights), "head_fusion": fusion, "discard_ratio": discard, "map": grid}
        paths += render.save(ctx.out, render.input_name("attention", i, source), panel, numbers)
    return paths
