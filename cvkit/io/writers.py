"""Prediction writers: JSONL (streamed record by record), CSV (one row per prediction) and COCO results.

Writing to a file goes through a temporary file renamed into place when the command ends, so an
interrupted run never leaves a truncated predictions file; writing to stdout streams."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import glob
import json
import os
import sys
from pathlib import Path
from typing import IO, Any

from cvkit.errors import PipeClosed, UsageError
from cvkit.io.atomic import disk_error, mkstemp_beside


def remove_orphans(path: Path) -> list[str]:
    """Remove the temporaries of earlier writers of ``path`` that were killed (``kill -9``) before renaming them:
    ``.NAME.*.tmp`` files beside it that no live writer holds locked."""
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            fd = os.open(tmp, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a live writer's
        finally:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
            removed.append(tmp.name)
    return removed


class Writer:
    def __init__(self, output: str | None) -> None:
        self.output = output
        self._tmp: str | None = None
        if output in (None, "-"):
            self.fh: IO[str] = sys.stdout
        else:
            path = Path(output)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = mkstemp_beside(path)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # "in use": a later run leaves this temporary alone
            self.fh = os.fdopen(fd, "w", encoding="utf-8", newline="")
            remove_orphans(path)

    def write(self, record: dict[str, Any], rows: list[dict[str, Any]], coco: list[dict[str, Any]]) -> None:
        try:
            self._write(record, rows, coco)
        except BrokenPipeError:
            raise PipeClosed from None
        except OSError as exc:
            raise disk_error(exc, self.output or "stdout") or exc from None

    def _write(self, record: dict[str, Any], rows: list[dict[str, Any]], coco: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        try:
            self.fh.flush()
        except BrokenPipeError:
            raise PipeClosed from None
        except OSError as exc:
            raise disk_error(exc, self.output or "stdout") or exc from None

    def close(self, ok: bool = True) -> None:
        """Finish the output; a file is renamed into place when ``ok``, else (or when finishing fails) its
        temporary is removed, always."""
        if self._tmp is None:
            if ok:
                self.finish()
                self.flush()
            return
        try:
            if ok:
                self.finish()
                self.fh.flush()
                os.fsync(self.fh.fileno())
        except BaseException as exc:
            self._discard()
            raise disk_error(exc, self.output) or exc from None
        if not ok:
            self._discard()
            return
        self.fh.close()
        os.replace(self._tmp, self.output)
        self._tmp = None

    def _discard(self) -> None:
        """Close without flushing what a full disk refused, and remove the temporary."""
        with contextlib.suppress(OSError):
            self.fh.close()  # retries the pending flush, which may fail again; the descriptor is closed anyway
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)
            self._tmp = None

    def finish(self) -> None:
        pass


class JsonlWriter(Writer):
    def _write(self, record: dict[str, Any], rows: list[dict[str, Any]], coco: list[dict[str, Any]]) -> None:
        self.fh.write(json.dumps(record, separators=(",", ":")) + "\n")


class CsvWriter(Writer):
    def __init__(self, output: str | None) -> None:
        super().__init__(output)
        self._csv: csv.DictWriter | None = None

    def _write(self, record: dict[str, Any], rows: list[dict[str, Any]], coco: list[dict[str, Any]]) -> None:
        for row in rows:
            if self._csv is None:
                fields = list(row) if "error" in row else list(row) + ["error"]
                self._csv = csv.DictWriter(self.fh, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
                self._csv.writeheader()
            self._csv.writerow(row)


class CocoWriter(Writer):
    """A COCO results list (bbox/segm/keypoints entries); written whole at the end."""

    def __init__(self, output: str | None) -> None:
        super().__init__(output)
        self.entries: list[dict[str, Any]] = []

    def _write(self, record: dict[str, Any], rows: list[dict[str, Any]], coco: list[dict[str, Any]]) -> None:
        self.entries.extend(coco)

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        json.dump(self.entries, self.fh)
        self.fh.write("\n")


WRITERS = {"jsonl": JsonlWriter, "csv": CsvWriter, "coco": CocoWriter}


def make_writer(fmt: str, output: str | None) -> Writer:
    if fmt not in WRITERS:
        raise UsageError(f"--format {fmt}: expected one of {', '.join(WRITERS)}")
    return WRITERS[fmt](output)
