"""Exceptions a user can act on. The CLI prints them as one ``error:`` line (no traceback)."""

from __future__ import annotations

from pathlib import Path


class CvkitError(Exception):
    """A failure caused by the user's input or environment, reported without a traceback."""

    exit_code = 1


class BadInput(CvkitError):
    """A file that cannot be used: missing, corrupt, malformed. Always names the file.

    ``where`` optionally names the field or line inside the file (``line 3``, ``object[2].bndbox``).
    With ``--skip-bad`` the engine skips and counts samples raising this instead of stopping.
    """

    def __init__(self, path: str | Path, reason: str, where: str | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        self.where = where
        loc = f"{self.path} ({where})" if where else self.path
        super().__init__(f"{loc}: {reason}")


class UsageError(CvkitError):
    """A wrong combination of options or values; the CLI exits with status 2."""

    exit_code = 2


class PipeClosed(Exception):
    """The reader of stdout went away (``| head``): the command ends quietly with status 0."""
