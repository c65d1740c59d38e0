"""The task's own visualisations (``cvkit visualize KIND --weights CKPT``):

``interpolate``   decode the straight line between two images' codes (autoencoder): one PNG per pair of
                  SOURCE images (or of the first scored images of ``--data``), ``--option steps=N`` (default 8).
``patch-neighbors`` nearest-neighbour retrieval of patches by encoder features: for patches of the scored split,
                  the most similar patches among the training images' grid cells (the relative-position method's
                  grid; ``--option k=N`` neighbours, default 6).
Every PNG has a JSON sidecar with what it shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cvkit.errors import UsageError
from cvkit.io.atomic import write_image, write_text
from cvkit.task import VisualizeRequest


def _load(request: VisualizeRequest) -> tuple[Any, Any, Any, torch.device]:
    from cvkit.checkpoint import load_model
    from cvkit.engine.device import select_device

    if request.weights is None:
        raise UsageError(f"visualize {request.kind} needs --weights CKPT (a pretrain checkpoint)")
    device = select_device(request.device)
    task, model, ckpt = load_model(request.weights, device, task="pretrain")
    return task, model, ckpt, device


def _images(task: Any, ckpt: Any, request: VisualizeRequest, split: str, count: int) -> tuple[list[str], torch.Tensor]:
    """(sources, images in [0, 1]) from SOURCE arguments, else from ``split`` of --data (default: the checkpoint's)."""
    from cvkit.data import load_split
    from cvkit.io.sources import expand_sources

    if request.sources:
        paths = list(expand_sources(request.sources, task.input_extensions))[:count]
    else:
        raw = load_split(task, request.data or ckpt.info.spec, request.split or split)
        paths = raw.sources[:count]
    ds = task.predict_dataset(paths, ckpt.model, ckpt.info)
    return paths, torch.stack([ds[i][0] for i in range(len(ds))]) if paths else torch.zeros(0)


def _to_uint8(x: torch.Tensor, size: int = 64) -> np.ndarray:
    """(3, h, w) in [0, 1] -> HWC uint8, enlarged (nearest) to at least ``size`` px."""
    img = (x.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    scale = max(1, size // max(img.shape[:2]))
    return np.kron(img, np.ones((scale, scale, 1), np.uint8)) if scale > 1 else img


def _row(images: list[np.ndarray], pad: int = 2) -> np.ndarray:
    h = max(i.shape[0] for i in images)
    cells = [np.pad(i, ((0, h - i.shape[0]), (pad, pad), (0, 0)), constant_values=255) for i in images]
    return np.concatenate(cells, 1)


def interpolate(request: VisualizeRequest) -> list[Path]:
    from cvkit_pretrain.methods.autoencoder import Autoencoder

    task, model, ckpt, device = _load(request)
    if not isinstance(model.method, Autoencoder):
        raise UsageError(f"{request.weights}: visualize interpolate needs an autoencoder checkpoint "
                         f"(this one is {model.method_name!r})")
    steps = int(request.options.get("steps", 8))
    if steps < 2:
        raise UsageError("--option steps must be at least 2")
    pairs = request.limit or 4
    paths, x = _images(task, ckpt, request, "val", 2 * pairs)
    if len(paths) < 2:
        raise UsageError("visualize interpolate needs at least two images (SOURCE... or --data)")
    request.out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with torch.no_grad():
        codes = model.method.encode(model, x.to(device))
        ts = torch.linspace(0, 1, steps, device=device)
        for p in range(len(paths) // 2):
            a, b = codes[2 * p], codes[2 * p + 1]
            line = torch.stack([(1 - t) * a + t * b for t in ts])
            decoded = model.method.decode(model, line)
            row = _row([_to_uint8(x[2 * p]), *[_to_uint8(d) for d in decoded], _to_uint8(x[2 * p + 1])])
            path = request.out / f"interpolate_{p:02d}.png"
            write_image(path, row)
            doc = {"kind": "interpolate", "weights": str(request.weights), "from": paths[2 * p],
                   "to": paths[2 * p + 1], "t": [round(float(t), 4) for t in ts],
                   "layout": "input A, decoded codes (1 - t) E(A) + t E(B) for each t, input B"}
            write_text(path.with_suffix(".json"), _json(doc))
            written += [path, path.with_suffix(".json")]
    return written


def _grid_patches(x: torch.Tensor, patch: int, offset: int, gap: int) -> torch.Tensor:
    """(B * 9, 3, patch, patch): the 3x3 grid cells of every image, row-major."""
    cells = []
    for r in range(3):
        for c in range(3):
            y, xx = offset + r * (patch + gap), offset + c * (patch + gap)
            cells.append(x[:, :, y:y + patch, xx:xx + patch])
    return torch.stack(cells, 1).flatten(0, 1)


def patch_neighbors(request: VisualizeRequest) -> list[Path]:
    from cvkit_pretrain.methods.relpos import RelativePosition, patch_layout

    task, model, ckpt, device = _load(request)
    method = model.method
    gap = method.gap if isinstance(method, RelativePosition) else 2
    patch, offset = patch_layout(model.img_size, gap, 0)
    k = int(request.options.get("k", 6))
    _, bank_x = _images(task, ckpt, VisualizeRequest(request.kind, request.out, data=request.data), "train", 300)
    paths, query_x = _images(task, ckpt, request, "val", request.limit or 8)
    if len(paths) == 0 or len(bank_x) == 0:
        raise UsageError("visualize patch-neighbors found no images")

    def embed(patches: torch.Tensor) -> torch.Tensor:
        feats = [method.eval_features(model, chunk.to(device)) for chunk in patches.split(256)]
        return F.normalize(torch.cat(feats).float(), dim=1)

    with torch.no_grad():
        bank = _grid_patches(bank_x, patch, offset, gap)
        queries = _grid_patches(query_x, patch, offset, gap)[4::9]  # the centre cell of each query image
        sim = embed(queries) @ embed(bank).t()
        top = sim.topk(min(k, len(bank)), dim=1)
    rows = [_row([_to_uint8(queries[i], 48), *[_to_uint8(bank[j], 48) for j in top.indices[i].tolist()]])
            for i in range(len(queries))]
    grid = np.concatenate([np.pad(r, ((2, 2), (0, max(x.shape[1] for x in rows) - r.shape[1]), (0, 0)),
                                  constant_values=255) for r in rows], 0)
    request.out.mkdir(parents=True, exist_ok=True)
    path = request.out / "patch_neighbors.png"
    write_image(path, grid)
    doc = {"kind": "patch-neighbors", "weights": str(request.weights), "queries": paths, "patch": patch,
           "similarity": [[round(float(s), 4) for s in row] for row in top.values],
           "layout": "per row: the centre patch of a query image, then its nearest training patches (cosine)"}
    write_text(path.with_suffix(".json"), _json(doc))
    return [path, path.with_suffix(".json")]


def _json(doc: dict[str, Any]) -> str:
    import json

    return json.dumps(doc, indent=2) + "\n"


SCRIPTS = {"interpolate": interpolate, "patch-neighbors": patch_neighbors}
