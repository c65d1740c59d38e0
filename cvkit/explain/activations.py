"""``activations``: the feature maps a layer computes for an input, one grey tile per channel.

Tiles share one scale (0 to the largest activation of the layer for that input), so weak channels look weak.
A channel is flagged dead (red border) when its largest value is <= 0: nothing of it survives a ReLU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from cvkit.explain import render
from cvkit.explain.context import ExplainContext
from cvkit.explain.layers import capture, first_layer

TILE = 32


def feature_maps(model: torch.nn.Module, x: torch.Tensor, layer: str) -> np.ndarray:
    """The output of ``layer`` for one normalised image ``x`` (C, H, W) as (channels, h, w) float32."""
    with torch.no_grad(), capture(model, [layer]) as store:
        model(x.unsqueeze(0))
    if layer not in store:
        raise RuntimeError(f"layer {layer!r} did not run in the forward pass")
    a = store[layer][0].float().cpu()
    if a.dim() == 3:
        return a.numpy()
    if a.dim() <= 1:  # a vector of features: one 1x1 map per feature
        return a.reshape(-1, 1, 1).numpy()
    return a.reshape(a.shape[0], 1, -1).numpy()  # tokens or other layouts: one row per channel


def activation_grid(maps: np.ndarray, max_channels: int = 256) -> tuple[np.ndarray, dict]:
    """Draw (C, h, w) maps as a grid; returns the picture and per-channel numbers."""
    c = maps.shape[0]
    flat = maps.reshape(c, -1)
    peak = flat.max(1)
    dead = np.flatnonzero(peak <= 0)
    top = max(float(peak.max()), 1e-12)
    tiles = []
    for i in range(min(c, max_channels)):
        img = (np.clip(maps[i] / top, 0, 1) * 255 + 0.5).astype(np.uint8)
        tile = render.enlarge(render.to_rgb(img), TILE)
        tiles.append(render.border(tile, (220, 0, 0)) if peak[i] <= 0 else tile)
    numbers = {
        "shape": list(maps.shape),
        "channel_max": peak.round(6).tolist(),
        "channel_mean": flat.mean(1).round(6).tolist(),
        "dead": dead.tolist(),
        "dead_fraction": float(len(dead) / c),
        "channels_shown": len(tiles),
    }
    return render.grid(tiles), numbers


def run(ctx: ExplainContext) -> list[Path]:
    layer = ctx.layer or first_layer(ctx.model)
    paths: list[Path] = []
    dead_everywhere: set[int] | None = None
    for i, (source, x) in enumerate(ctx.query_inputs("activations")):
        maps = feature_maps(ctx.model, x.to(ctx.device), layer)
        picture, numbers = activation_grid(maps, int(ctx.opt("max_channels", 256)))
        dead = set(numbers["dead"])
        dead_everywhere = dead if dead_everywhere is None else dead_everywhere & dead
        image = render.enlarge(ctx.to_image(x), TILE * 3)
        title = f"{layer} {tuple(maps.shape)}: {len(dead)} dead of {maps.shape[0]}"
        panel = render.hstack([render.caption(image, source), render.caption(picture, title)])
        numbers = {"kind": "activations", "source": source, "layer": layer, **numbers}
        paths += render.save(ctx.out, render.input_name("activations", i, source), panel, numbers)
    summary = {"kind": "activations", "layer": layer, "dead_for_all_inputs": sorted(dead_everywhere or [])}
    return paths + [render.save_json(ctx.out / "activations_summary.json", summary)]
