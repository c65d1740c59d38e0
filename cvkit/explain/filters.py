"""``filters``: the learned convolution kernels as pictures.

The first Conv2d (or a ``--layer`` conv with 1 or 3 input channels) is drawn as one colour (or grey) tile per
filter. A deeper conv is drawn per channel: one row per output filter, one grey tile per input channel.
A model without convolutions shows its first Linear layer's rows as images (the templates of a linear
classifier or the first layer of an MLP), when that layer reads the image's pixels.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from cvkit.errors import UsageError
from cvkit.explain import render
from cvkit.explain.context import ExplainContext
from cvkit.explain.layers import first_layer, get_layer

TILE = 32  # a kernel tile is enlarged to at least this many pixels


def _tile(kernel: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """(k, kh, kw) with k in (1, 3) -> uint8 RGB tile; min-max over the kernel unless lo/hi are given."""
    lo = kernel.min() if lo is None else lo
    hi = kernel.max() if hi is None else hi
    scaled = (kernel - lo) / (hi - lo) if hi > lo else np.full_like(kernel, 0.5)
    img = (np.clip(scaled, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
    return render.enlarge(render.to_rgb(img), TILE)


def filter_grid(weight: torch.Tensor, max_filters: int = 256, max_channels: int = 32) -> tuple[np.ndarray, dict]:
    """Draw a conv weight ``(out, in, kh, kw)``; returns the picture and its layout numbers."""
    w = weight.detach().float().cpu().numpy()
    out_ch, in_ch = w.shape[:2]
    shown = min(out_ch, max_filters)
    if in_ch in (1, 3):
        tiles = [_tile(w[i]) for i in range(shown)]
        cols = math.ceil(math.sqrt(shown))
        mode = "rgb" if in_ch == 3 else "grey"
    else:
        cols = min(in_ch, max_channels)
        m = float(np.abs(w[:shown, :cols]).max()) or 1.0
        tiles = [_tile(w[o, c : c + 1], -m, m) for o in range(shown) for c in range(cols)]
        mode = "per-channel"
    image = render.grid(tiles, cols=cols, pad=2)
    rows = math.ceil(len(tiles) / cols)
    layout = {
        "mode": mode,
        "shape": list(w.shape),
        "grid": [rows, cols],
        "tiles": len(tiles),
        "tile_px": list(tiles[0].shape[:2]),
        "filters_shown": shown,
        "filter_l2": np.sqrt((w.reshape(out_ch, -1) ** 2).sum(1)).round(6).tolist(),
    }
    return image, layout


def template_grid(weight: torch.Tensor, shape: tuple[int, int, int], max_filters: int = 256) -> tuple[np.ndarray, dict]:
    """Draw the rows of a Linear weight ``(out, C*H*W)`` as ``shape`` images, one tile per output unit."""
    w = weight.detach().float().cpu().numpy()
    shown = min(w.shape[0], max_filters)
    tiles = [_tile(w[i].reshape(shape)) for i in range(shown)]
    cols = math.ceil(math.sqrt(shown))
    image = render.grid(tiles, cols=cols, pad=2)
    layout = {
        "mode": "templates",
        "shape": list(w.shape),
        "template_shape": list(shape),
        "grid": [math.ceil(shown / cols), cols],
        "tiles": shown,
        "tile_px": list(tiles[0].shape[:2]),
        "filters_shown": shown,
        "filter_l2": np.sqrt((w**2).sum(1)).round(6).tolist(),
    }
    return image, layout


def run(ctx: ExplainContext) -> list[Path]:
    name = ctx.layer or first_layer(ctx.model)
    module = get_layer(ctx.model, name)
    weight = getattr(module, "weight", None)
    max_filters = int(ctx.opt("max_filters", 256))
    shape = ctx.input_shape()
    if isinstance(weight, torch.Tensor) and weight.dim() == 4:
        image, layout = filter_grid(weight, max_filters, int(ctx.opt("max_channels", 32)))
    elif isinstance(weight, torch.Tensor) and weight.dim() == 2 and weight.shape[1] == math.prod(shape):
        image, layout = template_grid(weight, shape, max_filters)
    else:
        raise UsageError(f"--layer {name!r} ({type(module).__name__}) has no convolution weight (nor a linear "
                         f"weight over the {shape} input pixels) to draw")
    title = f"{name}: {tuple(weight.shape)} ({layout['mode']})"
    picture = render.caption(image, title)
    numbers = {"kind": "filters", "layer": name, "type": type(module).__name__, **layout}
    return render.save(ctx.out, f"filters_{render.slug(name)}", picture, numbers)
