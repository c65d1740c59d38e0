"""Print cvkit's shell-completion script for bash, zsh or fish (``make completions`` writes completions/).

The scripts are Typer's: they call ``cvkit`` back with ``_CVKIT_COMPLETE`` set, so they stay valid as
commands and options change; the files in completions/ are checked to be current by the test suite."""

from __future__ import annotations

import sys

SHELLS = ("bash", "zsh", "fish")


def script(shell: str) -> str:
    from typer._completion_shared import get_completion_script

    if shell not in SHELLS:
        raise SystemExit(f"error: shell {shell!r} not supported (choose from {', '.join(SHELLS)})")
    return get_completion_script(prog_name="cvkit", complete_var="_CVKIT_COMPLETE", shell=shell)


if __name__ == "__main__":
    sys.stdout.write(script(sys.argv[1] if len(sys.argv) > 1 else "bash") + "\n")
