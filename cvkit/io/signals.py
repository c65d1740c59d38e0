"""SIGTERM ends a command the way Ctrl-C does, so that every cleanup path runs (temporaries removed, nothing
partial renamed into place); the CLI then exits 143 (128 + SIGTERM), as a Unix tool killed by the signal would."""

from __future__ import annotations

import signal
from typing import Any


class Terminated(KeyboardInterrupt):
    """Raised in the main thread on SIGTERM. A KeyboardInterrupt, so code that cleans up on Ctrl-C cleans up."""

    exit_code = 128 + signal.SIGTERM

    def __init__(self) -> None:
        super().__init__("terminated (SIGTERM)")


_received = False


def _raise_terminated(signum: int, frame: Any) -> None:
    global _received
    _received = True
    raise Terminated


def terminated() -> bool:
    """True once SIGTERM has been received (the CLI framework turns every KeyboardInterrupt into exit 130)."""
    return _received


def terminate_like_interrupt() -> None:
    """Install the SIGTERM handler (main thread only; a no-op elsewhere). Training installs its own graceful
    stop on top of it and restores it afterwards."""
    try:
        signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread
        pass
