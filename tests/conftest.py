"""Shared fixtures: an isolated dataset cache, a CLI runner through a real subprocess, a trained digits model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    os.environ["CVKIT_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    os.environ["CVKIT_PROGRESS"] = "0"
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def cvkit(*args: str, input: str | None = None, check: bool = False, cwd: Path | None = None,
          env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m cvkit ARGS`` in a subprocess (real exit codes, real pipes)."""
    proc = subprocess.run([sys.executable, "-m", "cvkit", *args], input=input, capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, **(env or {})}, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"cvkit {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


# ``python -c NO_TORCH ARGS`` runs the CLI with every import of torch or torchvision refused: what must work
# without torch (exported models, scoring a predictions file) is run this way.
class StopAfter:
    """Stands in for the SIGINT flag given to the training loop: asks it to stop after ``n`` asks."""

    def __init__(self, n: int) -> None:
        self.n = n

    @property
    def requested(self) -> bool:
        self.n -= 1
        return self.n < 0


NO_TORCH = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision"):
            raise ImportError(f"{name} is blocked in this test")
        return None
sys.meta_path.insert(0, Refuse())
from cvkit.cli import main
sys.argv = ["cvkit", *sys.argv[1:]]
main()
"""


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small MLP trained for 3 epochs on the embedded digits (about 5 s)."""
    out = tmp_path_factory.mktemp("digits_run")
    cvkit("train", "classify", "--epochs", "3", "--out", str(out), check=True)
    return out
