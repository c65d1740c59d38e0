"""Drawing helpers shared by the kinds: grids, heat-map overlays, captions, and PNG + JSON sidecar writing."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from cvkit.io.atomic import atomic_write

DISPLAY = 128  # smallest side a panel is enlarged to, so that 8-32 px images stay readable


def enlarge(image: np.ndarray, size: int = DISPLAY) -> np.ndarray:
    """Enlarge by an integer factor (nearest neighbour: pixels stay visible) until the short side >= size."""
    factor = max(1, math.ceil(size / max(1, min(image.shape[:2]))))
    if factor == 1:
        return image
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Grey (H, W) or (H, W, 1) -> (H, W, 3) uint8."""
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image.astype(np.uint8))


def normalise(values: np.ndarray, symmetric: bool = False) -> np.ndarray:
    """Scale to [0, 1]: min..max, or with ``symmetric`` -m..m around 0 (0 maps to 0.5)."""
    values = values.astype(np.float64)
    if symmetric:
        m = np.abs(values).max()
        return values / (2 * m) + 0.5 if m > 0 else np.full_like(values, 0.5)
    lo, hi = values.min(), values.max()
    return (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)


def small(values: np.ndarray, max_side: int = 32) -> np.ndarray:
    """A 2-D map area-averaged down to at most ``max_side`` (for JSON sidecars), rounded to 6 digits."""
    h, w = values.shape
    f = max(h, w) / max_side
    if f > 1:
        size = (max(1, round(w / f)), max(1, round(h / f)))
        values = cv2.resize(values.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    return np.round(values.astype(np.float64), 6)


def heat(values: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """A 2-D map as a JET colour image (min..max), optionally resized to ``size`` = (h, w)."""
    v = normalise(values).astype(np.float32)
    if size is not None and v.shape != size:
        v = cv2.resize(v, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    colour = cv2.applyColorMap((v * 255).astype(np.uint8), cv2.COLORMAP_JET)
    return cv2.cvtColor(colour, cv2.COLOR_BGR2RGB)


def overlay(image: np.ndarray, values: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend a heat map of ``values`` (any resolution) over an RGB uint8 image."""
    h = heat(values, image.shape[:2])
    return cv2.addWeighted(to_rgb(image), 1 - alpha, h, alpha, 0)


def caption(image: np.ndarray, text: str, width: int | None = None) -> np.ndarray:
    """Add a white strip with ``text`` above the image (text shrunk to fit)."""
    image = to_rgb(image)
    w = max(image.shape[1], width or 0)
    scale = 0.4
    (tw, _th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    if tw > w - 4:
        scale = max(0.25, scale * (w - 4) / tw)
    strip = np.full((16, w, 3), 255, np.uint8)
    cv2.putText(strip, text, (2, 12), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    body = np.full((image.shape[0], w, 3), 255, np.uint8)
    body[:, : image.shape[1]] = image
    return np.concatenate([strip, body], axis=0)


def border(image: np.ndarray, colour: tuple[int, int, int], width: int = 2) -> np.ndarray:
    out = to_rgb(image).copy()
    cv2.rectangle(out, (0, 0), (out.shape[1] - 1, out.shape[0] - 1), colour, width)
    return out


def grid(tiles: list[np.ndarray], cols: int | None = None, pad: int = 2, fill: int = 255) -> np.ndarray:
    """Tiles (same-size RGB or grey uint8) in a grid of ``cols`` columns (default: square-ish), ``pad`` apart."""
    if not tiles:
        raise ValueError("grid of no tiles")
    tiles = [to_rgb(t) for t in tiles]
    th = max(t.shape[0] for t in tiles)
    tw = max(t.shape[1] for t in tiles)
    cols = cols or math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / cols)
    canvas = np.full((rows * th + (rows + 1) * pad, cols * tw + (cols + 1) * pad, 3), fill, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        y, x = pad + r * (th + pad), pad + c * (tw + pad)
        canvas[y : y + tile.shape[0], x : x + tile.shape[1]] = tile
    return canvas


def hstack(panels: list[np.ndarray], pad: int = 4) -> np.ndarray:
    """Panels side by side (top-aligned, white background)."""
    return grid(panels, cols=len(panels), pad=pad)


def vstack(rows: list[np.ndarray], pad: int = 4) -> np.ndarray:
    w = max(r.shape[1] for r in rows)
    padded = []
    for r in rows:
        canvas = np.full((r.shape[0], w, 3), 255, np.uint8)
        canvas[:, : r.shape[1]] = to_rgb(r)
        padded.append(canvas)
    return grid(padded, cols=1, pad=pad)


def slug(text: str) -> str:
    """A file-name-safe version of a layer name or any text."""
    keep = [c if c.isalnum() or c in "-_." else "_" for c in text]
    return "".join(keep).strip("._") or "x"


def input_name(kind: str, index: int, source: str) -> str:
    """Output name of a per-input picture: ``KIND_INDEX_STEM`` (the index keeps equal stems apart)."""
    return f"{kind}_{index:03d}_{slug(Path(source).stem or source)}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # torch tensors
        return _jsonable(value.tolist())
    return value


def save_json(path: Path, numbers: dict[str, Any]) -> Path:
    """Write ``numbers`` as indented JSON atomically (NaN and infinity become null)."""
    with atomic_write(path, "w") as fh:
        json.dump(_jsonable(numbers), fh, indent=1)
        fh.write("\n")
    return path


def save(out: Path, name: str, image: np.ndarray, numbers: dict[str, Any]) -> list[Path]:
    """Write ``out/name.png`` and its sidecar ``out/name.json`` atomically; return both paths."""
    out.mkdir(parents=True, exist_ok=True)
    png, side = out / f"{name}.png", out / f"{name}.json"
    ok, buf = cv2.imencode(".png", cv2.cvtColor(to_rgb(image), cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError(f"could not encode {png}")
    with atomic_write(png, "wb") as fh:
        fh.write(buf.tobytes())
    save_json(side, {"image": png.name, **numbers})
    return [png, side]
