"""Reading and writing depth and normal maps, and the raw target every format shares.

A raw target is a JSON-safe dict: ``{"depth": PATH, "scale": S, "normals": PATH | None}`` for PNG/.npy files
(depth in metres = PNG value / S, 0 = no ground truth; a ``.npy`` holds float metres, 0 or NaN = none), or
``{"nyu": MAT_PATH, "index": i}`` for the i-th (0-based) frame of NYU Depth v2's labelled ``.mat``.

Normals are unit vectors in the camera frame (x right, y down, z forward, pointing towards the camera): a 16-bit
RGB PNG stores ``(n + 1) / 2 * 65535`` with (0, 0, 0) = no ground truth; a ``.npy`` holds ``(H, W, 3)`` floats
with a zero vector = none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cvkit.errors import BadInput
from cvkit.io.atomic import write_bytes

UINT16_MAX = 65535


def _imread16(path: Path, channels: int) -> np.ndarray:
    import cv2

    from cvkit.io.imagesize import check_image_file

    check_image_file(path)  # the pixel limit, before OpenCV allocates anything
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BadInput(path, f"cannot read: {exc.strerror or exc}") from None
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if arr is None:
        raise BadInput(path, "not a readable PNG")
    if arr.dtype != np.uint16:
        raise BadInput(path, f"expected a 16-bit PNG, got {arr.dtype} samples")
    if channels == 1 and arr.ndim != 2:
        raise BadInput(path, f"expected a one-channel depth PNG, got {arr.shape[-1]} channels")
    if channels == 3:
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise BadInput(path, "expected a three-channel (RGB) 16-bit normals PNG")
        arr = arr[..., ::-1]  # OpenCV decodes BGR
    return arr


def _load_npy(path: Path) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise BadInput(path, f"not a readable .npy array ({exc})") from None
    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
        raise BadInput(path, f"expected a numeric array, got {arr.dtype}")
    return arr.astype(np.float32)


def read_depth(path: str | Path, scale: float = 1000.0) -> np.ndarray:
    """Depth in metres, ``(H, W)`` float32, 0 where there is no ground truth."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        depth = _load_npy(path)
        if depth.ndim != 2:
            raise BadInput(path, f"expected an (H, W) depth array, got shape {list(depth.shape)}")
        return np.where(np.isfinite(depth) & (depth > 0), depth, 0).astype(np.float32)
    return (_imread16(path, 1).astype(np.float32) / float(scale)).astype(np.float32)


def read_normals(path: str | Path) -> np.ndarray:
    """Normals ``(H, W, 3)`` float32; a zero vector where there is no ground truth."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        n = _load_npy(path)
        if n.ndim != 3 or n.shape[2] != 3:
            raise BadInput(path, f"expected an (H, W, 3) normals array, got shape {list(n.shape)}")
        return np.where(np.isfinite(n), n, 0).astype(np.float32)
    raw = _imread16(path, 3)
    n = raw.astype(np.float32) / UINT16_MAX * 2 - 1
    n[(raw == 0).all(-1)] = 0
    return n


def encode_depth_png(depth: np.ndarray, scale: float = 1000.0) -> bytes:
    """16-bit PNG of ``depth`` metres (value = round(depth * scale), clipped to 1..65535; 0 = invalid/non-finite)."""
    import cv2

    d = np.asarray(depth, np.float64)
    ok = np.isfinite(d) & (d > 0)
    v = np.zeros(d.shape, np.uint16)
    v[ok] = np.clip(np.round(d[ok] * scale), 1, UINT16_MAX).astype(np.uint16)
    return cv2.imencode(".png", v)[1].tobytes()


def encode_normals_png(normals: np.ndarray) -> bytes:
    import cv2

    n = np.asarray(normals, np.float64)
    valid = np.linalg.norm(n, axis=-1) > 0.5
    v = np.clip(np.round((np.clip(n, -1, 1) + 1) / 2 * UINT16_MAX), 1, UINT16_MAX).astype(np.uint16)
    v[~valid] = 0
    return cv2.imencode(".png", np.ascontiguousarray(v[..., ::-1]))[1].tobytes()


def write_depth(path: str | Path, depth: np.ndarray, scale: float = 1000.0) -> None:
    """Atomically write ``depth`` as a 16-bit PNG (``.png``) or float32 ``.npy`` (0 where invalid)."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        import io

        buf = io.BytesIO()
        np.save(buf, np.where(np.isfinite(depth), depth, 0).astype(np.float32))
        write_bytes(path, buf.getvalue())
    else:
        write_bytes(path, encode_depth_png(depth, scale))


def load_target(target: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """``(depth, normals or None)`` of a raw target, depth 0 where invalid."""
    if "nyu" in target:
        from cvkit_dense.datasets.nyu import read_frame

        return read_frame(Path(target["nyu"]), int(target["index"]))[1], None
    depth = read_depth(target["depth"], float(target.get("scale", 1000.0)))
    normals = read_normals(target["normals"]) if target.get("normals") else None
    if normals is not None and normals.shape[:2] != depth.shape:
        raise BadInput(target["normals"], f"normals are {normals.shape[1]}x{normals.shape[0]} but the depth map "
                       f"{target['depth']} is {depth.shape[1]}x{depth.shape[0]}")
    return depth, normals
