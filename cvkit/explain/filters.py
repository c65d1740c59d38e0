"""``filters``: the learned convolution kernels as pictures.

The first Conv2d (or a ``--layer`` conv with 1 or 3 input channels) is drawn as one colour (or grey) tile per
filter. A deeper conv is drawn per channel: one row per output filter, one grey tile per input channel.
A model without convolutions shows its first Linear layer's rows as images (the templates of a linear
classifier or the first layer of an MLP), when that layer reads the image's pixels.

A video model's 3D convolution (``(out, in, t, kh, kw)``; the first Conv2d or Conv3d is the default layer) is drawn
as clips: a frames-by-filters grid (one row per filter, one column per time step, each filter scaled over all its
frames so that its change over time shows) and an animated GIF whose frame k shows every filter's k-th time slice.
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


def clip_tiles(weight: torch.Tensor, max_filters: int = 64) -> tuple[list[list[np.ndarray]], str]:
    """Tiles ``[filter][time]`` of a 3D conv weight ``(out, in, t, kh, kw)``, each filter min-max scaled over all of
    its frames; RGB for 3 input channels, grey for 1, else the first input channel (symmetric scale)."""
    w = weight.detach().float().cpu().numpy()[:max_filters]
    in_ch = w.shape[1]
    if in_ch not in (1, 3):
        w = w[:, :1]
    rows = []
    for f in w:
        m = float(np.abs(f).max())
        lo, hi = (float(f.min()), float(f.max())) if in_ch in (1, 3) else (-m, m)
        rows.append([_tile(f[:, k], lo, hi) for k in range(f.shape[1])])
    return rows, {3: "clip-rgb", 1: "clip-grey"}.get(in_ch, "clip-channel0")


def run_3d(ctx: ExplainContext, name: str, module: torch.nn.Module, weight: torch.Tensor) -> list[Path]:
    """A 3D convolution as clips: the frames-by-filters grid (PNG + JSON) and an animated GIF."""
    import io

    from PIL import Image

    from cvkit.io.atomic import write_bytes

    rows, mode = clip_tiles(weight, int(ctx.opt("max_filters", 64)))
    frames = len(rows[0])
    image = render.grid([t for row in rows for t in row], cols=frames, pad=2)
    picture = render.caption(image, f"{name}: {tuple(weight.shape)} (rows: filters, columns: time)")
    w = weight.detach().float().cpu().numpy()
    numbers = {"kind": "filters", "layer": name, "type": type(module).__name__, "mode": mode, "shape": list(w.shape),
               "grid": [len(rows), frames], "tiles": len(rows) * frames, "tile_px": list(rows[0][0].shape[:2]),
               "filters_shown": len(rows),
               "filter_l2": np.sqrt((w.reshape(w.shape[0], -1) ** 2).sum(1)).round(6).tolist()}
    slug = f"filters_{render.slug(name)}"
    gif = ctx.out / f"{slug}.gif"
    numbers["animation"] = gif.name
    paths = render.save(ctx.out, slug, picture, numbers)
    cols = math.ceil(math.sqrt(len(rows)))
    clips = [render.caption(render.grid([row[k] for row in rows], cols=cols, pad=2), f"{name} t={k}")
             for k in range(frames)]
    buf = io.BytesIO()
    Image.fromarray(clips[0]).save(buf, "GIF", save_all=True, append_images=[Image.fromarray(c) for c in clips[1:]],
                                   duration=400, loop=0)
    write_bytes(gif, buf.getvalue())
    return [*paths, gif]


def _first_conv(model: torch.nn.Module) -> str:
    """The first Conv2d or Conv3d in registration order (video models), else ``first_layer``'s choice."""
    found = [n for n, m in model.named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv3d))]
    return found[0] if found else first_layer(model)


def run(ctx: ExplainContext) -> list[Path]:
    name = ctx.layer or _first_conv(ctx.model)
    module = get_layer(ctx.model, name)
    weight = getattr(module, "weight", None)
    max_filters = int(ctx.opt("max_filters", 256))
    shape = ctx.input_shape()
    if isinstance(weight, torch.Tensor) and weight.dim() == 5:
        return run_3d(ctx, name, module, weight)
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
