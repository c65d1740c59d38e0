"""Video decoding with OpenCV (torchvision 0.29 decodes no video), with one-line errors that name the file.

Frame counts are found by decoding every frame, never read from the container header (``CAP_PROP_FRAME_COUNT``
is an estimate for many files and wrong for truncated ones). Frames are read sequentially: seeking with
``CAP_PROP_POS_FRAMES`` is not frame-exact for every codec.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvkit.errors import BadInput

# FFmpeg's own log lines ("moov atom not found") would duplicate our named errors on stderr. Read by OpenCV when
# its FFmpeg backend starts, so it must be set before the first video is opened; a user's setting wins.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402  (after the log-level setting above)

VIDEO_EXTENSIONS = (".mp4", ".webm", ".mkv", ".avi", ".mov")


@dataclass(frozen=True)
class VideoMeta:
    """What the clip index keeps per video: decoded frame count, frame size and frame rate (from the header)."""

    frames: int
    height: int
    width: int
    fps: float


def open_video(path: str | Path) -> cv2.VideoCapture:
    """An opened capture, or BadInput saying why not (missing, empty, not decodable or truncated)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise BadInput(path, "no such file") from None
    except OSError as exc:
        raise BadInput(path, f"cannot read: {exc.strerror or exc}") from None
    if path.is_dir():
        raise BadInput(path, "is a directory, not a video")
    if size == 0:
        raise BadInput(path, "empty file (0 bytes)")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise BadInput(path, "cannot open as a video (not a format OpenCV/FFmpeg decodes, or truncated)")
    return cap


def _rgb(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def probe(path: str | Path, keep_frames: int = 0) -> tuple[VideoMeta, list[np.ndarray] | None]:
    """Decode every frame to count them; also return the RGB frames when there are at most ``keep_frames``."""
    cap = open_video(path)
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        kept: list[np.ndarray] | None = [] if keep_frames > 0 else None
        n, shape = 0, None
        while True:
            if kept is not None:
                ok, frame = cap.read()
                if not ok:
                    break
                if n < keep_frames:
                    kept.append(_rgb(frame))
                else:
                    kept = None
            else:
                ok = cap.grab()
                if not ok:
                    break
                if shape is None:
                    ok, frame = cap.retrieve()
                    if not ok:
                        break
            if shape is None:
                shape = frame.shape[:2]
            n += 1
    finally:
        cap.release()
    if n == 0 or shape is None:
        raise BadInput(path, "no decodable frame (corrupt or truncated video)")
    return VideoMeta(n, int(shape[0]), int(shape[1]), fps), kept


def read_frames(path: str | Path, indices: Iterable[int]) -> dict[int, np.ndarray]:
    """RGB frames at ``indices`` (0-based), in one sequential pass; BadInput when the video ends too early."""
    wanted = sorted(set(int(i) for i in indices))
    out: dict[int, np.ndarray] = {}
    if not wanted:
        return out
    cap = open_video(path)
    try:
        pos, last = 0, wanted[-1]
        targets = set(wanted)
        while pos <= last:
            if not cap.grab():
                raise BadInput(path, f"decoding stopped at frame {pos}, frame {last} was needed (truncated or "
                               "changed since it was indexed)")
            if pos in targets:
                ok, frame = cap.retrieve()
                if not ok:
                    raise BadInput(path, f"frame {pos} cannot be decoded")
                out[pos] = _rgb(frame)
            pos += 1
    finally:
        cap.release()
    return out
