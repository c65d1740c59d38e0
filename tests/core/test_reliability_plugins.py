"""Defect 2: a plugin that exits (any BaseException but KeyboardInterrupt) at import, and one that reuses a
first-party task name, are listed as broken with the reason; every other task keeps working."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import cvkit


def _fake_plugin(site: Path, dist: str, task: str, module: str, body: str) -> None:
    """An installed distribution (a .dist-info folder on the path) registering ``task`` in cvkit.tasks."""
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[cvkit.tasks]\n{task} = {module}:spec\n")
    (site / f"{module}.py").write_text(body)


@pytest.fixture
def site(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    _fake_plugin(site, "exits-at-import", "quitter", "quitter_plugin", "import sys\nsys.exit(3)\n")
    _fake_plugin(site, "system-exit-spec", "leaver", "leaver_plugin", "raise SystemExit('bye')\n")
    _fake_plugin(site, "fake-classify", "classify", "fake_classify",
                 "from cvkit.plugin import TaskSpec\n"
                 "spec = TaskSpec('classify', 'not ours', 'fake_classify:Nope')\n")
    return {"PYTHONPATH": os.pathsep.join(p for p in [str(site), os.environ.get("PYTHONPATH", "")] if p)}


def test_tasks_lists_the_exiting_plugin_as_broken(site: dict[str, str]) -> None:
    proc = cvkit("tasks", "--json", env=site)
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)["tasks"]}
    assert rows["quitter"]["status"] == "broken"
    assert "SystemExit" in rows["quitter"]["error"] and "3" in rows["quitter"]["error"]
    assert rows["leaver"]["status"] == "broken" and "bye" in rows["leaver"]["error"]
    assert rows["classify"]["status"] == "ok" and rows["classify"]["package"] == "cvkit-classify"
    clash = [r for r in rows.values() if r["package"] == "fake-classify"]
    assert len(clash) == 1 and clash[0]["status"] == "broken"
    assert "classify" in clash[0]["error"] and "cvkit-classify" in clash[0]["error"]
    assert "fake-classify" in proc.stderr  # the clash is reported, not silently ignored


def test_other_tasks_still_load_and_the_broken_one_fails_in_one_line(site: dict[str, str],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from cvkit import plugin
    from cvkit.errors import CvkitError

    monkeypatch.syspath_prepend(site["PYTHONPATH"].split(os.pathsep)[0])
    plugin.discover.cache_clear()
    try:
        assert plugin.get_task("classify").name == "classify"
        assert "quitter" not in plugin.task_names()
        with pytest.raises(CvkitError, match=r"task plugin 'quitter' \(exits-at-import\) is broken: SystemExit: 3"):
            plugin.get_task("quitter")
    finally:
        plugin.discover.cache_clear()


def test_a_task_module_that_exits_when_loaded_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from cvkit import plugin
    from cvkit.errors import CvkitError

    (tmp_path / "exiting_impl.py").write_text("raise SystemExit(4)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = plugin.PluginEntry("ex", "ex-pkg", "0.1", "x:spec", plugin.TaskSpec("ex", "", "exiting_impl:Task"))
    monkeypatch.setattr(plugin, "discover", lambda: {"ex": entry})
    with pytest.raises(CvkitError, match="SystemExit: 4"):
        plugin.get_task("ex")
