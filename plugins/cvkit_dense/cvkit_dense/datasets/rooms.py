"""``builtin:rooms``: ray-cast rooms (:mod:`cvkit_dense.datasets.rooms_render`) with exact depth and normals,
written in the ``depthfolder`` format: ``train/`` and ``val/`` with ``images/`` (PNG), ``depth/`` (16-bit PNG,
millimetres, 0 where a window shows nothing) and ``normals/`` (16-bit PNG), plus ``depth.json``.

``--size N``: N training scenes (default 2,000) and 15 % as many validation scenes (300).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cvkit.contract import BuiltinDataset
from cvkit.errors import UsageError
from cvkit_dense.datasets.depthio import encode_depth_png, encode_normals_png
from cvkit_dense.datasets.rooms_render import render

DEFAULT_SIZE = 2000
VAL_FRACTION = 0.15


def _png(image: np.ndarray) -> bytes:
    import cv2

    return cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]))[1].tobytes()


class RoomsDataset(BuiltinDataset):
    name = "rooms"
    formats = ("depthfolder",)
    description = "ray-cast rooms (96x128) with exact depth and surface normals"

    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        if fmt not in self.formats:
            raise UsageError(f"builtin:rooms is written as depthfolder, not {fmt!r}")
        n_train = DEFAULT_SIZE if size is None else int(size)
        if n_train < 1:
            raise UsageError("--size: at least 1 training scene")
        n_val = max(1, round(n_train * VAL_FRACTION))
        out = Path(out)
        index = 0
        for split, count in (("train", n_train), ("val", n_val)):
            for sub in ("images", "depth", "normals"):
                (out / split / sub).mkdir(parents=True, exist_ok=True)
            for k in range(count):
                image, depth, normals = render(seed, index)
                index += 1
                stem = f"{split}_{k:05d}"
                (out / split / "images" / f"{stem}.png").write_bytes(_png(image))
                (out / split / "depth" / f"{stem}.png").write_bytes(encode_depth_png(depth, 1000.0))
                (out / split / "normals" / f"{stem}.png").write_bytes(encode_normals_png(normals))
        (out / "depth.json").write_text(json.dumps({"depth_scale": 1000, "crop": "none", "max_depth": None}) + "\n")
        return f"depthfolder:{out}"

    def card(self) -> dict:
        return {"defaults": {"img_size": 128}}
