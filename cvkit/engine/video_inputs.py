"""Video files and cameras as ``predict`` inputs of image tasks: frames streamed through the task's own image path,
and ``--save-vis`` as an annotated video.

Each decoded frame is spooled to a lossless BMP in a private temporary folder (never the current one) and handed to
the task like any image file, so every image task, its dataset and its DataLoader workers read frames unchanged.
Only the frames of the chunk being predicted exist at a time (a chunk holds about one batch of frames), and the
folder is removed when prediction ends, however it ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cvkit.errors import BadInput, CvkitError
from cvkit.io.sources import is_video, read_frames


@dataclass
class Input:
    """One record's input: ``source`` as given; ``path`` what the task reads (a spooled frame for a video);
    ``frame``/``time``/``fps`` for frames; ``error`` when the source could not be read at all."""

    source: str
    path: str
    frame: int | None = None
    time: float | None = None
    fps: float = 0.0
    error: str | None = None
    run: int = 0  # which source argument of the expansion (a video given twice is two runs)

    @property
    def name(self) -> str:
        """A file-like name for artefacts and ids: ``clip_000012`` for frame 12 of ``clip.mp4``."""
        if self.frame is None:
            return self.source
        return f"{Path(self.source.replace(':', '_')).stem}_{self.frame:06d}"


class FrameSpool:
    """Frames written as BMP files in a private temporary folder, removed chunk by chunk and at the end."""

    def __init__(self) -> None:
        self._dir: str | None = None
        self._count = 0

    def write(self, rgb: Any) -> str:
        import cv2

        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="cvkit-frames-")
        self._count += 1
        path = os.path.join(self._dir, f"{self._count:09d}.bmp")
        if not cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise CvkitError(f"{path}: could not write a decoded video frame (temporary folder full?)")
        return path

    @staticmethod
    def release(items: Iterable[Input]) -> None:
        for item in items:
            if item.frame is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(item.path)

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def inputs(sources: Iterable[str], frames_of: tuple[str, ...], stride: int, spool: FrameSpool) -> Iterator[Input]:
    """The inputs of ``sources``: a file as itself, a video (suffix in ``frames_of``) or ``camera:N`` as its frames
    (every ``stride``-th), or one error input when it cannot be read."""
    for run, source in enumerate(sources):
        if not is_video(source, frames_of):
            yield Input(source, source, run=run)
            continue
        try:
            for f in read_frames(source, stride):
                yield Input(source, spool.write(f.image), f.index, f.time, f.fps, run=run)
        except BadInput as exc:
            yield Input(source, source, error=str(exc), run=run)


def input_chunks(items: Iterable[Input], size: int, frames: int) -> Iterator[list[Input]]:
    """Chunks of at most ``size`` inputs, cut after ``frames`` video frames (their spooled files are on disk until
    the chunk is done)."""
    chunk: list[Input] = []
    n_frames = 0
    for item in items:
        chunk.append(item)
        n_frames += item.frame is not None
        if len(chunk) == size or n_frames >= frames:
            yield chunk
            chunk, n_frames = [], 0
    if chunk:
        yield chunk


class VideoVis:
    """``--save-vis`` for video inputs: each source's drawn frames go into ``DIR/<position>_<stem>.mp4`` (mp4v), written
    to a temporary file beside it and renamed into place when the video ends; an interrupted one is removed."""

    FOURCC = "mp4v"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._key: tuple[str, int] | None = None  # (source, run) being written
        self._writer: Any = None
        self._tmp: Path | None = None
        self._final: Path | None = None
        self._size: tuple[int, int] | None = None

    def add(self, item: Input, first_position: int, stride: int, rgb: Any) -> None:
        import cv2

        key = (item.source, item.run)
        if key != self._key:
            self.close()
            self._open(item, first_position, stride, rgb)
        h, w = rgb.shape[:2]
        if (w, h) != self._size:  # a drawing of another size: fit it to the video's frame size
            rgb = cv2.resize(rgb, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    def _open(self, item: Input, position: int, stride: int, rgb: Any) -> None:
        import cv2

        self.folder.mkdir(parents=True, exist_ok=True)
        stem = Path(item.source.replace(":", "_")).stem or "video"
        self._final = self.folder / f"{position:06d}_{stem}.mp4"
        fd, tmp = tempfile.mkstemp(prefix=f".{self._final.name}.", suffix=".tmp.mp4", dir=self.folder)
        os.close(fd)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # what a new file gets (mkstemp makes 0600)
        self._tmp = Path(tmp)
        h, w = rgb.shape[:2]
        self._size = (w, h)
        fps = item.fps / stride if item.fps else 25.0
        self._writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*self.FOURCC), max(fps, 1e-3), (w, h))
        self._key = (item.source, item.run)
        if not self._writer.isOpened():
            self.close(ok=False)
            raise CvkitError(f"{self._final}: OpenCV cannot write an {self.FOURCC} video here")

    def close(self, ok: bool = True) -> None:
        """Finish the current video: renamed into place when ``ok``, else its temporary file removed."""
        if self._writer is not None:
            self._writer.release()
        if self._tmp is not None:
            if ok:
                os.replace(self._tmp, self._final)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._tmp)
        self._writer = self._tmp = self._final = self._key = self._size = None
