"""Every plugin README the docs link exists; the plugin scaffold's records carry rounded scores (in process)."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import torch

from cvkit.scaffold import new_plugin

ROOT = Path(__file__).resolve().parents[2]


def test_every_first_party_plugin_has_the_readme_the_docs_link() -> None:
    linked = set()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        linked |= set(re.findall(r"plugins/cvkit_\w+/README\.md", doc.read_text()))
    for path in linked:
        assert (ROOT / path).is_file(), path
    for plugin in ("cvkit_classify", "cvkit_detect", "cvkit_segment", "cvkit_instance", "cvkit_pose"):
        assert (ROOT / "plugins" / plugin / "README.md").is_file(), f"{plugin} has no README.md"


def test_scaffolded_predictions_have_rounded_scores(tmp_path: Path, monkeypatch) -> None:
    pkg = new_plugin("roundcheck", tmp_path / "pkg")
    src = next(p for p in pkg.rglob("task.py"))
    monkeypatch.syspath_prepend(str(src.parent.parent))
    module = importlib.import_module(f"{src.parent.name}.task")
    try:
        cls = next(v for v in vars(module).values() if isinstance(v, type) and hasattr(v, "predict_step")
                   and v.__module__ == module.__name__)
        logits = torch.tensor([[0.1, 0.7, 0.3], [1.234567891, 0.0, 0.5]])
        preds = cls.predict_step(None, lambda x: x, SimpleNamespace(inputs=logits))
        for p, row in zip(preds, logits.softmax(1), strict=True):
            assert p["score"] == round(float(row.max()), 6) and len(repr(p["score"])) <= 8
    finally:
        for name in [n for n in sys.modules if n.startswith(src.parent.name)]:
            del sys.modules[name]
