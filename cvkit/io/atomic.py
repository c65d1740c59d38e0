"""Atomic writes: a process killed at any moment leaves the previous complete file, never a truncated one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success fsync it and rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    try:
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | Path, text: str) -> None:
    with atomic_write(path, "w") as fh:
        fh.write(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` through an atomic write."""
    import torch

    with atomic_write(path, "wb") as fh:
        torch.save(obj, fh)


def write_image(path: str | Path, image_rgb: Any) -> None:
    """Encode an RGB uint8 HWC array (PNG/JPEG by extension) and write it atomically."""
    import cv2
    import numpy as np

    path = Path(path)
    arr = np.ascontiguousarray(image_rgb)
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(path.suffix or ".png", arr)
    if not ok:
        raise ValueError(f"could not encode {path}")
    write_bytes(path, buf.tobytes())
