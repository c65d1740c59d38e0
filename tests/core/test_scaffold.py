"""`cvkit plugin new` writes a package that pip installs, that `cvkit tasks` lists and `cvkit train` trains."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import cvkit


def test_scaffolded_plugin_installs_lists_and_trains(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    cvkit("plugin", "new", "brightness", "--out", str(pkg), check=True)
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(pkg)], check=True, capture_output=True)
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    tasks = {t["name"]: t for t in json.loads(cvkit("tasks", "--json", env=env, check=True).stdout)["tasks"]}
    assert tasks["brightness"]["package"] == "cvkit-brightness" and tasks["brightness"]["status"] == "ok"
    out = tmp_path / "run"
    cvkit("train", "brightness", "--out", str(out), env=env, check=True)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["best"]["value"] >= 0.9


def test_broken_plugin_is_listed_and_breaks_nothing_else(tmp_path: Path) -> None:
    site = tmp_path / "site"
    dist = site / "cvkit_broken-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: cvkit-broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[cvkit.tasks]\nbroken = cvkit_broken_mod:spec\n")
    (site / "cvkit_broken_mod.py").write_text("raise ImportError('needs a library that is not installed')\n")
    env = {"PYTHONPATH": str(site)}
    tasks = {t["name"]: t for t in json.loads(cvkit("tasks", "--json", env=env, check=True).stdout)["tasks"]}
    assert tasks["broken"]["status"] == "broken"
    assert "needs a library that is not installed" in tasks["broken"]["error"]
    assert tasks["classify"]["status"] == "ok"
    proc = cvkit("train", "broken", env=env)
    assert proc.returncode == 1 and "broken" in proc.stderr and "Traceback" not in proc.stderr
