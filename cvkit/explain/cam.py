"""``cam`` and ``gradcam``: where in the image the evidence for a class lies.

CAM (Zhou et al. 2016) weights the feature maps that a global-average-pool + linear head reads by the head's
weights for the class; it needs exactly that head. Grad-CAM (Selvaraju et al. 2017) weights any conv layer's
maps by the spatial mean of the class score's gradient, so it works for every CNN. Both keep the positive part
and are upsampled (bilinear) to the input size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cvkit import model as model_protocol
from cvkit.errors import CvkitError
from cvkit.explain import render
from cvkit.explain.context import ExplainContext
from cvkit.explain.layers import capture, frozen, get_layer, last_conv, logits

NO_HEAD = "CAM needs a global-average-pool + linear classifier head; {why}. Use gradcam, which works for any CNN"


def _pooled_by_head(a: torch.Tensor, head_in: torch.Tensor) -> bool:
    if a.dim() != 4 or head_in.dim() != 2 or a.shape[:2] != head_in.shape:
        return False
    pooled = a.mean((2, 3))
    return bool(torch.allclose(pooled, head_in, rtol=1e-4, atol=1e-5 * (1 + float(head_in.abs().max()))))


def class_activation_map(
    model: torch.nn.Module, x: torch.Tensor, target: int | None = None, layer: str | None = None
) -> tuple[np.ndarray, dict]:
    """CAM for one normalised image (C, H, W): (H, W) map and numbers. ``layer`` defaults to the feature maps
    the head's global average pool reads (found by checking which layer's spatial mean is the head's input)."""
    head = model_protocol.head(model)
    if head is None or not isinstance(head[1], torch.nn.Linear):
        raise CvkitError(NO_HEAD.format(why=f"the head of {type(model).__name__} is not an nn.Linear layer"))
    head_name, linear = head
    names = [layer] if layer else [n for n, _ in model.named_modules() if n and n != head_name]
    if layer:
        get_layer(model, layer)
    with torch.no_grad(), capture(model, names) as outs, capture(model, [head_name], inputs=True) as head_in:
        out = logits(model, x.unsqueeze(0))
    if head_name not in head_in:
        raise CvkitError(NO_HEAD.format(why=f"its last linear layer {head_name!r} did not run"))
    matches = [n for n, a in outs.items() if _pooled_by_head(a, head_in[head_name])]
    if not matches:
        where = f"the head {head_name!r} does not read the spatial mean of {layer!r}" if layer else (
            f"the input of its last linear layer {head_name!r} is not the spatial mean of any feature map")
        raise CvkitError(NO_HEAD.format(why=where))
    spatial = [n for n in matches if outs[n].shape[2] * outs[n].shape[3] > 1]
    chosen = (spatial or matches)[-1]
    predicted = int(out[0].argmax())
    target = predicted if target is None else target
    feats = outs[chosen][0].float()
    raw = torch.einsum("k,khw->hw", linear.weight[target].detach().float(), feats)
    cam = _upsample(raw.clamp(min=0), x.shape[1:])
    return cam, _numbers(out, target, predicted, chosen, raw)


def grad_cam(
    model: torch.nn.Module, x: torch.Tensor, target: int | None = None, layer: str | None = None
) -> tuple[np.ndarray, dict]:
    """Grad-CAM for one normalised image (C, H, W) at ``layer`` (default: the last Conv2d)."""
    layer = layer or last_conv(model)
    x = x.detach().unsqueeze(0).clone().requires_grad_(True)  # so the activations have a graph
    with frozen(model), capture(model, [layer]) as outs:
        out = logits(model, x)
    if layer not in outs or outs[layer].dim() != 4:
        shape = tuple(outs[layer].shape) if layer in outs else None
        raise CvkitError(f"gradcam needs a layer with (B, C, H, W) feature maps; {layer!r} gives {shape}")
    predicted = int(out[0].argmax())
    target = predicted if target is None else target
    (grads,) = torch.autograd.grad(out[0, target], outs[layer])
    weights = grads[0].mean((1, 2))
    raw = torch.einsum("k,khw->hw", weights, outs[layer][0].detach()).float()
    cam = _upsample(raw.clamp(min=0), x.shape[2:])
    numbers = _numbers(out.detach(), target, predicted, layer, raw)
    numbers["channel_weights"] = weights.float().cpu().numpy().round(6)
    return cam, numbers


def _upsample(m: torch.Tensor, size: torch.Size) -> np.ndarray:
    up = F.interpolate(m[None, None], size=tuple(size), mode="bilinear", align_corners=False)
    return up[0, 0].cpu().numpy()


def _numbers(out: torch.Tensor, target: int, predicted: int, layer: str, raw: torch.Tensor) -> dict:
    return {
        "layer": layer,
        "target": target,
        "predicted": predicted,
        "prob": float(out[0].softmax(0)[target]),
        "map_shape": list(raw.shape),
        "map": raw.cpu().numpy().round(6),
    }


def _run(ctx: ExplainContext, kind: str) -> list[Path]:
    fn = class_activation_map if kind == "cam" else grad_cam
    paths: list[Path] = []
    for i, (source, x) in enumerate(ctx.query_inputs(kind)):
        cam, numbers = fn(ctx.model, x.to(ctx.device), ctx.target(), ctx.layer)
        image = render.enlarge(ctx.to_image(x))
        name = ctx.class_name(numbers["target"])
        panel = render.hstack([
            render.caption(image, source),
            render.caption(render.overlay(image, cam), f"{kind} {name} p={numbers['prob']:.2f}"),
        ])
        numbers = {"kind": kind, "source": source, "target_name": name, **numbers}
        paths += render.save(ctx.out, render.input_name(kind, i, source), panel, numbers)
    return paths


def run_cam(ctx: ExplainContext) -> list[Path]:
    return _run(ctx, "cam")


def run_gradcam(ctx: ExplainContext) -> list[Path]:
    return _run(ctx, "gradcam")
