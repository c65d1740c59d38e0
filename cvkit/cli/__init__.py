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

for _optional in ("count_params", "export"):
    try:
        __import__(f"cvkit.cli.{_optional}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"cvkit.cli.{_optional}":
            raise


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("CVKIT_DEBUG") == "1"
    try:
        app(args=args, prog_name="cvkit")
    except SystemExit as exc:
        code = exc.code
        _flush_or_quiet()
        sys.exit(code)
    except (BrokenPipeError, PipeClosed):
        _quiet_pipe()
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
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
