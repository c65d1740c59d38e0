"""``occlusion``: the class probability as a grey patch slides over the image (Zeiler & Fergus 2014).

The patch is filled with the dataset mean colour (0 after normalisation). Each pixel's importance is the mean
drop in probability over the patch positions that cover it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from cvkit.explain import render
from cvkit.explain.context import ExplainContext
from cvkit.explain.layers import logits


def _starts(size: int, patch: int, stride: int) -> list[int]:
    starts = list(range(0, max(size - patch, 0) + 1, stride))
    if starts[-1] != max(size - patch, 0):
        starts.append(max(size - patch, 0))  # cover the last rows/columns too
    return starts


@torch.no_grad()
def occlusion_map(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: int | None = None,
    patch: int = 8,
    stride: int = 2,
    batch: int = 64,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Slide a ``patch`` square with ``stride`` over one normalised image ``x`` (C, H, W).

    Returns the probability of ``target`` (default: predicted) per patch position (ny, nx), the per-pixel
    importance map (H, W) = mean probability drop over covering patches, and the numbers."""
    _, h, w = x.shape
    base = logits(model, x.unsqueeze(0))[0].softmax(0)
    predicted = int(base.argmax())
    target = predicted if target is None else target
    ys, xs = _starts(h, patch, stride), _starts(w, patch, stride)
    boxes = [(y, x0) for y in ys for x0 in xs]
    probs = []
    for i in range(0, len(boxes), batch):
        chunk = boxes[i : i + batch]
        imgs = x.unsqueeze(0).repeat(len(chunk), 1, 1, 1)
        for j, (y, x0) in enumerate(chunk):
            imgs[j, :, y : y + patch, x0 : x0 + patch] = 0.0
        probs.append(logits(model, imgs).softmax(1)[:, target].float().cpu())
    grid = torch.cat(probs).numpy().reshape(len(ys), len(xs))
    drop_sum, count = np.zeros((h, w)), np.zeros((h, w))
    for (y, x0), p in zip(boxes, grid.reshape(-1), strict=True):
        drop_sum[y : y + patch, x0 : x0 + patch] += float(base[target]) - p
        count[y : y + patch, x0 : x0 + patch] += 1
    importance = drop_sum / np.maximum(count, 1)
    iy, ix = np.unravel_index(int(grid.argmin()), grid.shape)
    numbers = {
        "target": target,
        "predicted": predicted,
        "prob": float(base[target]),
        "patch": patch,
        "stride": stride,
        "ys": ys,
        "xs": xs,
        "min_prob": float(grid.min()),
        "min_prob_box": [xs[ix], ys[iy], xs[ix] + patch, ys[iy] + patch],
        "prob_map": grid.round(6),
    }
    return grid, importance, numbers


def run(ctx: ExplainContext) -> list[Path]:
    patch = int(ctx.opt("patch", max(2, ctx.img_size // 4)))
    stride = int(ctx.opt("stride", max(1, patch // 4)))
    paths: list[Path] = []
    for i, (source, x) in enumerate(ctx.query_inputs("occlusion")):
        x = x.to(ctx.device)
        grid, importance, numbers = occlusion_map(ctx.model, x, ctx.target(), patch, stride)
        image = render.enlarge(ctx.to_image(x))
        probs = render.heat(grid, image.shape[:2])
        name = ctx.class_name(numbers["target"])
        panel = render.hstack([
            render.caption(image, f"{source} p={numbers['prob']:.2f}"),
            render.caption(probs, f"p({name}) {grid.min():.2f}..{grid.max():.2f}"),
            render.caption(render.overlay(image, importance), "probability drop"),
        ])
        numbers = {"kind": "occlusion", "source": source, "target_name": name, **numbers,
                   "importance": render.small(importance)}
        paths += render.save(ctx.out, render.input_name("occlusion", i, source), panel, numbers)
    return paths
