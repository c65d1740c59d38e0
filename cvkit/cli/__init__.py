"""Command-line entry point: registers the commands and turns errors into one ``error:`` line."""

from __future__ import annotations

import os
import sys

from cvkit.cli import (  # noqa: F401  (each module registers its commands on the app)
    data_cmd,
    evaluate,
    geometry,
    plugin_cmd,
    predict,
    shard_cmd,
    tasks,
    train,
    visualize,
)
from cvkit.cli.app import app
from cvkit.errors import CvkitError, PipeClosed
from cvkit.io.signals import terminate_like_interrupt, terminated

for _optional in ("count_params", "export"):
    try:
        __import__(f"cvkit.cli.{_optional}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"cvkit.cli.{_optional}":
            raise


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("CVKIT_DEBUG") == "1"
    terminate_like_interrupt()  # SIGTERM cleans up like Ctrl-C, then exits 143
    try:
        app(args=args, prog_name="cvkit")
    except SystemExit as exc:
        code = exc.code
        _flush_or_quiet()
        if code == 130 and terminated():  # the framework turned our SIGTERM into its Ctrl-C exit
            print("error: terminated (SIGTERM)", file=sys.stderr)
            code = 143
        sys.exit(code)
    except (BrokenPipeError, PipeClosed):
        _quiet_pipe()
    except KeyboardInterrupt as exc:  # Ctrl-C: 130; SIGTERM (cvkit.io.signals.Terminated): 143
        print(f"error: {exc or 'interrupted'}", file=sys.stderr)
        sys.exit(getattr(exc, "exit_code", 130))
    except CvkitError as exc:
        if debug:
            raise
        _flush_or_quiet()
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if debug:
            raise
        _flush_or_quiet()
        text = str(exc).strip().splitlines()
        msg = text[0] if text else ""
        print(f"error: {type(exc).__name__}: {msg} (run with --debug for the traceback)", file=sys.stderr)
        sys.exit(1)


def _flush_or_quiet() -> None:
    try:
        sys.stdout.flush()
    except (BrokenPipeError, PipeClosed):
        _quiet_pipe()


def _quiet_pipe() -> None:
    """The reader went away (``| head``): stop quietly, without Python's 'Exception ignored' noise."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)
