"""``saliency``: how much each pixel moves the class score (Simonyan et al. 2014).

The map is the absolute gradient of the class logit with respect to the input, maximised over channels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from cvkit.explain import render
from cvkit.explain.context import ExplainContext
from cvkit.explain.layers import frozen, logits


def saliency_map(model: torch.nn.Module, x: torch.Tensor, target: int | None = None) -> tuple[np.ndarray, dict]:
    """|d score_target / d x| max over channels, (H, W), for one normalised image ``x`` (C, H, W).

    ``target`` defaults to the predicted class."""
    x = x.detach().unsqueeze(0).clone().requires_grad_(True)
    with frozen(model):
        out = logits(model, x)
        predicted = int(out[0].argmax())
        target = predicted if target is None else target
        (grad,) = torch.autograd.grad(out[0, target], x)
    out = out.detach()
    probs = out[0].detach().softmax(0)
    sal = grad[0].abs().amax(0).float().cpu().numpy()
    return sal, {
        "target": target,
        "predicted": predicted,
        "score": float(out[0, target]),
        "prob": float(probs[target]),
        "max": float(sal.max()),
        "mean": float(sal.mean()),
    }


def run(ctx: ExplainContext) -> list[Path]:
    paths: list[Path] = []
    for i, (source, x) in enumerate(ctx.query_inputs("saliency")):
        sal, numbers = saliency_map(ctx.model, x.to(ctx.device), ctx.target())
        image = render.enlarge(ctx.to_image(x))
        grey = (render.normalise(sal) * 255).astype(np.uint8)
        label = f"{ctx.class_name(numbers['target'])} p={numbers['prob']:.2f}"
        panel = render.hstack([
            render.caption(image, source),
            render.caption(render.enlarge(render.to_rgb(grey)), "saliency"),
            render.caption(render.overlay(image, sal), label),
        ])
        numbers = {"kind": "saliency", "source": source, "target_name": ctx.class_name(numbers["target"]),
                   **numbers, "map": render.small(sal)}
        paths += render.save(ctx.out, render.input_name("saliency", i, source), panel, numbers)
    return paths
