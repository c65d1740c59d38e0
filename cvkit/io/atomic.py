"""Atomic writes: a process killed at any moment leaves the previous complete file, never a truncated one."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from cvkit.errors import CvkitError

DISK_ERRORS = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded"}


def disk_error(exc: BaseException, path: str | Path) -> CvkitError | None:
    """A one-line error naming ``path`` for a full disk or an exceeded quota (None for any other failure)."""
    reason = DISK_ERRORS.get(getattr(exc, "errno", None))
    if reason is None:
        return None
    return CvkitError(f"{path}: {reason} while writing it (nothing was replaced; free some space and run again)")


def mkstemp_beside(path: Path) -> tuple[int, str]:
    """A temporary ``.NAME.XXXXXXXX.tmp`` beside ``path``, with the permissions the umask gives a new file
    (mkstemp creates 0600, which would otherwise survive the rename)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
    except OSError:
        pass
    return fd, tmp


def _umask() -> int:
    """The process umask (read without changing it where /proc tells it; else set and restored at once)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success fsync it and rename it over ``path``.

    On any failure the temporary is removed and ``path`` keeps its previous content; a full disk or quota becomes
    a CvkitError naming ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = mkstemp_beside(path)
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    try:
        fh = os.fdopen(fd, mode, encoding=encoding)
        try:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        except BaseException:
            with contextlib.suppress(OSError):  # closing flushes again and fails again: the first error counts
                fh.close()
            raise
        fh.close()
        os.replace(tmp, path)
    except BaseException as exc:
        _discard(tmp, path, exc)
        raise


def write_text(path: str | Path, text: str) -> None:
    with atomic_write(path, "w") as fh:
        fh.write(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def atomic_copy(src: str | Path, dst: str | Path) -> None:
    """Make ``dst`` a complete copy of ``src`` atomically: a hard link renamed over ``dst`` where the file system
    allows it (no bytes copied; ``src`` replaced later by a rename keeps ``dst`` intact), else a copied temporary."""
    import shutil

    src, dst = Path(src), Path(dst)
    fd, tmp = mkstemp_beside(dst)
    os.close(fd)
    try:
        os.unlink(tmp)
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, dst)
    except BaseException as exc:
        _discard(tmp, dst, exc)
        raise


def _discard(tmp: str, path: Path, exc: BaseException) -> None:
    """After a failed write of ``path``: remove its temporary, and raise a full disk or quota as a CvkitError naming
    ``path`` (the caller re-raises anything else)."""
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    translated = disk_error(exc, path)
    if translated is not None:
        raise translated from None


def torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` through an atomic write."""
    import torch

    with atomic_write(path, "wb") as fh:
        sink = _RecordingWriter(fh)
        try:
            torch.save(obj, sink)
        except RuntimeError:  # the zip writer hides the OSError of a failed write behind "unexpected pos"
            if sink.error is not None:
                raise sink.error from None
            raise


class _RecordingWriter:
    """A file object that remembers the OSError of a failed write (torch.save reports it as RuntimeError)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self.fh.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        try:
            self.fh.flush()
        except OSError as exc:
            self.error = exc
            raise


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
