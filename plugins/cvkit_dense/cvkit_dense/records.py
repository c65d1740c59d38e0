"""Prediction records, saved depth/normal maps, and reading predictions back.

A record is ``{"size": [h, w], "depth": {"min", "max", "mean", "median"} (metres), "normals": {"mean": [x, y, z]}
(when predicted)}``, plus ``"depth_png"`` / ``"depth_npy"`` (and ``"normals_png"`` / ``"normals_npy"``) naming the
maps written when predict was asked to save them (``save_depth`` folder; ``depth_format`` ``png``: 16-bit PNG in
millimetres, the format the ``depthfolder`` loader reads, or ``npy``: float32 metres). Nothing is written otherwise.
``eval --predictions`` needs the saved maps (the summary statistics are not enough to score a prediction).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cvkit.errors import CvkitError
from cvkit.io.atomic import write_bytes
from cvkit_dense.datasets.depthio import encode_normals_png, read_depth, read_normals, write_depth

PNG_SCALE = 1000.0  # saved depth PNGs hold millimetres


def output_name(folder: Path, source: str, taken: set[str], suffix: str) -> Path:
    """``folder/<stem><suffix>``, with ``_2``, ``_3``... when two inputs share a stem in one run."""
    stem = Path(source.replace("#", "_")).stem or "input"
    name, n = stem, 1
    while name in taken:
        n += 1
        name = f"{stem}_{n}"
    taken.add(name)
    return folder / f"{name}{suffix}"


def summary(prediction: dict[str, Any]) -> dict[str, Any]:
    depth = np.asarray(prediction["depth"], np.float64)
    rec: dict[str, Any] = {"size": [int(depth.shape[0]), int(depth.shape[1])],
                           "depth": {"min": float(depth.min()), "max": float(depth.max()),
                                     "mean": float(depth.mean()), "median": float(np.median(depth))}}
    if prediction.get("normals") is not None:
        mean = np.asarray(prediction["normals"], np.float64).reshape(-1, 3).mean(0)
        rec["normals"] = {"mean": [round(float(v), 6) for v in mean]}
    return rec


def record(prediction: dict[str, Any], folder: Path | None, fmt: str, taken: set[str], stem: str | None = None
           ) -> dict[str, Any]:
    """The record; with ``folder``, the maps are written there as ``<stem>.<fmt>`` (``stem``: the core's unique
    stem of the input, else one derived from the source and ``taken``)."""
    rec = summary(prediction)
    if folder is None:
        return rec
    if fmt not in ("png", "npy"):
        raise CvkitError(f"depth_format {fmt!r}: expected png or npy")
    path = Path(folder) / f"{stem}.{fmt}" if stem else \
        output_name(Path(folder), str(prediction.get("source", "")), taken, f".{fmt}")
    write_depth(path, prediction["depth"], PNG_SCALE)
    rec[f"depth_{fmt}"] = str(path)
    if prediction.get("normals") is not None:
        npath = path.with_name(f"{path.stem}_normals.{fmt}")
        if fmt == "png":
            write_bytes(npath, encode_normals_png(prediction["normals"]))
        else:
            import io

            buf = io.BytesIO()
            np.save(buf, np.asarray(prediction["normals"], np.float32))
            write_bytes(npath, buf.getvalue())
        rec[f"normals_{fmt}"] = str(npath)
    return rec


def parse_record(rec: dict[str, Any]) -> dict[str, Any]:
    """The prediction of a record, from its saved maps; ``{}`` (no record) is the empty prediction."""
    if not rec:
        return {"depth": None, "normals": None}
    for fmt in ("png", "npy"):
        if f"depth_{fmt}" in rec:
            depth = read_depth(rec[f"depth_{fmt}"], PNG_SCALE)
            normals = read_normals(rec[f"normals_{fmt}"]) if f"normals_{fmt}" in rec else None
            return {"depth": depth, "normals": normals}
    raise ValueError("record names no saved depth map (predict with --save-depth DIR to score it later)")
