"""Expanding SOURCE arguments lazily: files, folders (searched recursively, each folder's files in natural order),
globs, ``-`` (stdin lines), ``shards:DIR``, video files and ``camera:N``.

For a task that reads images, a video file (or a camera) is a stream of frames: :func:`read_frames` decodes it with
OpenCV one frame at a time (never the whole video in memory), every ``stride``-th frame, each with its index and
time. A task whose ``input_extensions`` include the video's suffix (the video task) gets the file itself."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cvkit.errors import BadInput
from cvkit.io.imagesize import IMAGE_EXTENSIONS
from cvkit.io.walk import glob_files, iter_files

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts")
CAMERA = "camera:"  # ``camera:0`` is the first camera (an OpenCV device index)


def expand_sources(args: Iterable[str], extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> Iterator[str]:
    """Yield input paths in order, as given (a missing file is yielded too: it becomes an error record)."""
    for arg in args:
        if arg == "-":
            for line in sys.stdin:
                line = line.strip()
                if line:
                    yield line
        elif arg.startswith(("shards:", "wds:")):  # every sample of a shard folder, or of one shard (cvkit.shards)
            from cvkit.shards.reader import shard_sources

            yield from shard_sources(arg.partition(":")[2])
        elif os.path.isdir(arg):
            yield from _walk(arg, extensions)
        elif any(ch in arg for ch in "*?[") and not os.path.exists(arg):
            for match in glob_files(arg):  # ** without following link loops
                if os.path.isdir(match):
                    yield from _walk(match, extensions)
                else:
                    yield match
        else:
            yield arg


def count_sources(args: list[str], extensions: tuple[str, ...] = IMAGE_EXTENSIONS, frames_of: tuple[str, ...] = (),
                  stride: int = 1) -> int | None:
    """How many records :func:`expand_sources` leads to, for a progress total: one per file, and for a video whose
    suffix is in ``frames_of`` the frames it declares (every ``stride``-th). None when that is not known
    beforehand (stdin, shard folders, cameras) or a walk fails."""
    if any(arg == "-" or arg.startswith(("shards:", "wds:", CAMERA)) for arg in args):
        return None
    try:
        total = 0
        for path in expand_sources(args, extensions):
            total += (frame_count(path, stride) or 1) if is_video(path, frames_of) else 1
        return total
    except OSError:
        return None


def is_video(source: str, frames_of: tuple[str, ...] = VIDEO_EXTENSIONS) -> bool:
    """Whether ``source`` is read as a stream of frames: a camera, or a file whose suffix is in ``frames_of``."""
    return source.startswith(CAMERA) or Path(source).suffix.lower() in frames_of


def frames_for(task_extensions: tuple[str, ...]) -> tuple[str, ...]:
    """The video suffixes a task with these ``input_extensions`` reads frame by frame: all of them for a task that
    reads images, none for a task that takes video files itself (the video task reads clips)."""
    if {x.lower() for x in task_extensions} & set(VIDEO_EXTENSIONS):
        return ()
    return VIDEO_EXTENSIONS


@dataclass(frozen=True)
class Frame:
    """One decoded frame: RGB uint8 ``(H, W, 3)``, its index in the video and its time in seconds."""

    image: Any
    index: int
    time: float
    fps: float


def _capture(target: str | int) -> Any:
    """``cv2.VideoCapture`` without OpenCV's and FFmpeg's own log lines (our error names the file instead)."""
    import cv2

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg quiet ("moov atom not found" and the like)
    log = getattr(getattr(cv2, "utils", None), "logging", None)
    level = log.getLogLevel() if log is not None else None
    if level is not None:
        log.setLogLevel(log.LOG_LEVEL_FATAL)  # while opening (camera probing warns for every backend it tries)
    try:
        return cv2.VideoCapture(target)
    finally:
        if level is not None:
            log.setLogLevel(level)


def _open(source: str) -> Any:
    if source.startswith(CAMERA):
        index = source[len(CAMERA):]
        if not (index.isascii() and index.isdigit()):
            raise BadInput(source, "a camera is camera:N with N a device index (camera:0 is the first)")
        cap = _capture(int(index))
        if not cap.isOpened():
            raise BadInput(source, f"no camera {index} could be opened (no such device here?)")
        return cap
    if not os.path.exists(source):
        raise BadInput(source, "no such file")
    if os.path.isdir(source):
        raise BadInput(source, "is a folder, not a video")
    cap = _capture(source)
    if not cap.isOpened():
        raise BadInput(source, "not a readable video (OpenCV could not open it: corrupt or unsupported)")
    return cap


def frame_count(source: str, stride: int = 1) -> int | None:
    """Frames a video file declares (every ``stride``-th), or None when unknown or unreadable."""
    try:
        cap = _open(source)
    except BadInput:
        return None
    import cv2

    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    cap.release()
    return -(-n // stride) if n > 0 else None


def read_frames(source: str, stride: int = 1) -> Iterator[Frame]:
    """Decode ``source`` (a video file or ``camera:N``) frame by frame, yielding every ``stride``-th frame (the
    first included). Skipped frames are only grabbed, not decoded. A video that cannot be opened, that declares a
    size over the pixel limit, or that yields no frame raises :class:`BadInput` naming it."""
    import cv2

    from cvkit.io.limits import too_large

    if stride < 1:
        raise ValueError("stride must be >= 1")
    cap = _open(source)
    try:
        w, h = cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
        if reason := too_large(w, h):
            raise BadInput(source, reason)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        fps = fps if 0 < fps < 10_000 else 0.0
        index = decoded = 0
        while True:
            if index % stride:
                if not cap.grab():
                    break
                index += 1
                continue
            ok, bgr = cap.read()
            if not ok or bgr is None:
                break
            seconds = index / fps if fps else cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            yield Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), index, round(seconds, 6), fps)
            decoded += 1
            index += 1
        if decoded == 0:
            raise BadInput(source, "no frame could be decoded (corrupt, empty or unsupported video)")
    finally:
        cap.release()


def _walk(folder: str, extensions: tuple[str, ...]) -> Iterator[str]:
    """Files under ``folder`` in walk order, each folder's files in natural order (``frame_2`` before
    ``frame_10``); each real file once, no link loops (cvkit.io.walk)."""
    run: list[str] = []
    for path in iter_files(folder, extensions):
        if run and os.path.dirname(path) != os.path.dirname(run[-1]):
            yield from sorted(run, key=natural_key)
            run = []
        run.append(path)
    yield from sorted(run, key=natural_key)


def natural_key(path: str) -> list[Any]:
    """Sort key comparing the digit runs of a file name as numbers: ``img2`` < ``img10``."""
    parts = re.split(r"(\d+)", os.path.basename(path))
    return [int(p) if i % 2 else p for i, p in enumerate(parts)] + [os.path.basename(path)]


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
