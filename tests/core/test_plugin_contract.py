"""Every installed plugin against the contract: its light spec agrees with its Task, and plugins stay peers
(no plugin imports another plugin or a private name of the core)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cvkit.plugin import discover, get_task

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIRS = sorted(p for p in (ROOT / "plugins").glob("cvkit_*") if p.is_dir())
INSTALLED = sorted(name for name, entry in discover().items() if entry.value.startswith("cvkit_"))


@pytest.mark.parametrize("name", INSTALLED)
def test_spec_agrees_with_task(name):
    entry = discover()[name]
    assert entry.spec is not None, f"plugin {name} is broken: {entry.error}"
    spec, task = entry.spec, get_task(name)
    assert task.name == spec.name == name
    assert set(spec.models) <= set(task.model_names()), "spec.models must be models the task builds"
    if not spec.extra_models:
        assert set(spec.models) == set(task.model_names())
    assert task.default_model in task.model_names()
    assert list(spec.dataset_formats) == list(task.formats()), "spec.dataset_formats: the task's formats, in order"
    assert set(spec.builtin_datasets) == set(task.builtins())
    assert tuple(spec.metrics) == tuple(task.metric_names()), "spec.metrics feeds --metric completion"
    for builtin_name, builtin in task.builtins().items():
        assert builtin.name == builtin_name and builtin.formats
        assert isinstance(builtin.card(), dict)
    if spec.default_data.startswith("builtin:"):
        assert spec.default_data.partition(":")[2] in task.builtins()
    for fmt_name, fmt in task.formats().items():
        assert fmt.name == fmt_name


def test_specs_are_light():
    """`cvkit tasks`, --help and completion read every spec: importing a plugin's package loads no torch."""
    import subprocess
    import sys

    packages = sorted({discover()[n].value.partition(":")[0] for n in INSTALLED})
    code = "import sys\n" + "".join(f"import {p}\n" for p in packages) + \
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr[-2000:]


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, imported names) of every import statement in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return out


def peer_violations(plugin_dir: Path) -> list[str]:
    """Imports of another plugin, or of a private (``_x``) module or name of the core, in one plugin folder."""
    own = plugin_dir.name
    problems = []
    for path in sorted(plugin_dir.rglob("*.py")):
        if ".egg-info" in str(path):
            continue
        for line, module, names in _imports(path):
            top = module.split(".")[0]
            where = f"{path.relative_to(ROOT)}:{line}"
            if top.startswith("cvkit_") and top != own:
                problems.append(f"{where}: imports another plugin ({module})")
            if top == "cvkit":
                parts = module.split(".")[1:]
                private = [p for p in parts if p.startswith("_")] + [n for n in names if n.startswith("_")]
                if private:
                    problems.append(f"{where}: imports a private core name ({module}: {', '.join(private)})")
    return problems


@pytest.mark.parametrize("plugin_dir", PLUGIN_DIRS, ids=[p.name for p in PLUGIN_DIRS])
def test_plugins_are_peers(plugin_dir):
    assert peer_violations(plugin_dir) == []


def test_peer_check_catches_what_it_should(tmp_path):
    pkg = tmp_path / "cvkit_mine" / "cvkit_mine"
    pkg.mkdir(parents=True)
    (pkg / "a.py").write_text("from cvkit_other.x import y\nimport cvkit_mine.b\nfrom cvkit.io import atomic\n")
    (pkg / "b.py").write_text("from cvkit.data import _card_spec\nimport cvkit._secret\n"
                              "def f():\n    from cvkit_detect import records\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        found = peer_violations(tmp_path / "cvkit_mine")
    finally:
        ROOT = saved
    assert len(found) == 4
    assert "another plugin (cvkit_other.x)" in found[0] and "private core name (cvkit.data: _card_spec)" in found[1]
    assert "cvkit._secret" in found[2] and "cvkit_detect" in found[3]
