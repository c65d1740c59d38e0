"""Helpers the video formats share: split names with frame-order controls, video lookup, label symmetries."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cvkit.console import warn
from cvkit.errors import BadInput, UsageError
from cvkit_video.clips import ORDERS
from cvkit_video.decode import VIDEO_EXTENSIONS

SPLITS = ("train", "val", "test")
SYMMETRIES = "symmetries.json"


def parse_split(split: str) -> tuple[str, str]:
    """``NAME[:ORDER]`` -> (``train|val|test``, frame order). ``val:shuffled`` evaluates on the validation videos
    with the frames of every clip shuffled; ``val:reversed`` plays them backwards (the motion controls)."""
    name, _, order = split.strip().lower().partition(":")
    name = {"valid": "val", "validation": "val"}.get(name, name)
    order = order or "natural"
    if name not in SPLITS:
        raise UsageError(f"unknown split {split!r}: choose train, val (or valid) or test, optionally with "
                         f":{'|:'.join(ORDERS[1:])}")
    if order not in ORDERS:
        raise UsageError(f"--split {split}: unknown frame order {order!r} (expected {', '.join(ORDERS)})")
    return name, order


def video_files(folder: Path) -> dict[str, Path]:
    """Video files in ``folder`` by stem (the YouTube id); an id with several files takes the first by extension
    preference (mp4, webm, mkv, avi, mov)."""
    rank = {ext: i for i, ext in enumerate(VIDEO_EXTENSIONS)}
    found: dict[str, tuple[int, Path]] = {}
    try:
        with os.scandir(folder) as it:
            for entry in it:
                stem, ext = os.path.splitext(entry.name)
                ext = ext.lower()
                if ext in rank and not entry.name.startswith(".") and (stem not in found or rank[ext] <
                                                                        found[stem][0]):
                    found[stem] = (rank[ext], Path(entry.path))
    except (FileNotFoundError, NotADirectoryError):
        return {}
    return {stem: p for stem, (_, p) in found.items()}


def report_missing(missing: int, total: int, where: Path | str, what: str = "videos") -> None:
    """One warning line for the listed videos that are not on disk (deleted uploads are normal)."""
    if missing:
        warn(f"{where}: {missing} of {total} listed {what} not found on disk; skipped")


def read_symmetries(root: Path, classes: list[str]) -> dict[str, Any]:
    """``symmetries.json`` (optional): which label pairs swap under mirroring and under time reversal.

    ``{"mirror": [["move left", "move right"], ...], "reverse": [[...], ...]}``, class names as in labels.txt.
    Returned as ``info.extra`` entries ``mirror_pairs`` / ``reverse_pairs`` (index pairs)."""
    path = root / SYMMETRIES
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(path, f"not valid JSON ({exc})") from None
    index = {c: i for i, c in enumerate(classes)}
    out: dict[str, Any] = {}
    for kind in ("mirror", "reverse"):
        pairs = []
        for n, pair in enumerate(doc.get(kind, [])):
            if not (isinstance(pair, list) and len(pair) == 2 and all(p in index for p in pair)):
                raise BadInput(path, "expected a pair of class names from labels.txt", where=f"{kind}[{n}]")
            pairs.append([index[pair[0]], index[pair[1]]])
        if kind in doc:
            out[f"{kind}_pairs"] = pairs
    return out
