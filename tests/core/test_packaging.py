"""Packaging: one install command for the core and every first-party plugin (separate distributions)."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]


def test_the_all_extra_names_every_first_party_plugin():
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extra = set(root["project"]["optional-dependencies"]["all"])
    plugins = {}
    for folder in sorted((ROOT / "plugins").glob("cvkit_*")):
        meta = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        plugins[meta["name"]] = meta
        assert "cvkit" in meta["dependencies"], folder
        assert list(meta["entry-points"]["cvkit.tasks"]), folder
    assert extra == set(plugins)
    known = set(root["tool"]["ruff"]["lint"]["isort"]["known-first-party"])
    assert {name.replace("-", "_") for name in plugins} <= known
