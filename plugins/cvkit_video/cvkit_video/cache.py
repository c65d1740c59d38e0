"""The clip index (decoded frame counts) and the optical-flow cache, on disk under the cvkit cache folder.

Layout: ``<cache>/video/<dataset key>/index.jsonl`` (one line per indexed video) and
``<cache>/video/<dataset key>/flow/<video key>-<params>.npy``. A video is identified by its absolute path, size
and modification time, so an edited or replaced file is indexed again. The index is built lazily: a video is
decoded and counted the first time a sample of it is asked for, and the line is appended (one ``write`` on an
``O_APPEND`` file, safe with several DataLoader workers). Each process reads the file once, on first use.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.data import cache_dir
from cvkit.io.atomic import atomic_write
from cvkit_video.decode import VideoMeta


def dataset_cache(key: str) -> Path:
    """The cache folder of a dataset (``key``: its data spec, or ``predict`` for loose files)."""
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]
    return cache_dir() / "video" / digest


def video_key(path: str | Path) -> str:
    """``abs path|size|mtime_ns``: changes when the file is replaced or edited."""
    p = Path(path).resolve()
    st = p.stat()
    return f"{p}|{st.st_size}|{st.st_mtime_ns}"


class VideoIndex:
    """Decoded frame counts of the videos of one dataset, persisted as JSON lines."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._entries: dict[str, VideoMeta] | None = None
        self._lock = threading.Lock()  # the decode-ahead thread indexes videos too

    def __getstate__(self) -> dict[str, Any]:  # workers read the file themselves (it may have grown)
        return {"folder": self.folder, "_entries": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def file(self) -> Path:
        return self.folder / "index.jsonl"

    def _load(self) -> dict[str, VideoMeta]:
        with self._lock:
            return self._read()

    def _read(self) -> dict[str, VideoMeta]:
        if self._entries is None:
            self._entries = {}
            try:
                with open(self.file, encoding="utf-8") as fh:
                    for line in fh:
                        try:
                            d = json.loads(line)
                            self._entries[d["key"]] = VideoMeta(int(d["frames"]), int(d["height"]),
                                                                int(d["width"]), float(d["fps"]))
                        except (ValueError, KeyError, TypeError):
                            continue  # a torn or foreign line: that video is simply indexed again
            except FileNotFoundError:
                pass
        return self._entries

    def get(self, key: str) -> VideoMeta | None:
        return self._load().get(key)

    def put(self, key: str, meta: VideoMeta) -> None:
        entries = self._load()
        if key in entries:
            return
        entries[key] = meta
        line = json.dumps({"key": key, "frames": meta.frames, "height": meta.height, "width": meta.width,
                           "fps": meta.fps}) + "\n"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        except OSError:
            pass  # a read-only cache only costs re-indexing next time


class FlowCache:
    """Optical flow of whole videos as float16 ``(N, H, W, 2)`` arrays, one ``.npy`` file per video and setting."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "flow"

    def path(self, key: str, params: str) -> Path:
        return self.folder / f"{hashlib.sha1(key.encode('utf-8')).hexdigest()[:20]}-{params}.npy"

    def load(self, key: str, params: str) -> np.ndarray | None:
        path = self.path(key, params)
        try:
            return np.load(path, mmap_mode="r")
        except (FileNotFoundError, ValueError, OSError):
            return None

    def save(self, key: str, params: str, flow: np.ndarray) -> None:
        try:
            with atomic_write(self.path(key, params), "wb") as fh:
                np.save(fh, flow.astype(np.float16))
        except OSError:
            pass  # a read-only cache only costs computing the flow again


class MemoryCache:
    """A per-process LRU of decoded, resized frames (and flow) of short videos, bounded in bytes; safe to fill from
    the training loop's decode-ahead thread."""

    def __init__(self, budget_mb: float) -> None:
        self.budget = int(budget_mb * 2**20)
        self.used = 0
        self.items: OrderedDict[Any, np.ndarray] = OrderedDict()
        self.lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:  # never ship cached frames to worker processes
        return {"budget": self.budget, "used": 0, "items": OrderedDict()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.lock = threading.Lock()

    def get(self, key: Any) -> np.ndarray | None:
        with self.lock:
            item = self.items.get(key)
            if item is not None:
                self.items.move_to_end(key)
            return item

    def room(self, size: int) -> bool:
        """Whether ``size`` more bytes fit without evicting anything."""
        return self.used + size <= self.budget

    def put(self, key: Any, value: np.ndarray) -> None:
        with self.lock:
            if value.nbytes > self.budget or key in self.items:
                return
            self.items[key] = value
            self.used += value.nbytes
            while self.used > self.budget:
                _, old = self.items.popitem(last=False)
                self.used -= old.nbytes
