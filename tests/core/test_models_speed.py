"""``cvkit models TASK`` lists without importing torch even on the first call (empty cache): names come from the
spec and torchvision's sources, defaults from the Task class's literal attributes. Both must equal what the
imported task says, for every installed plugin."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

from cvkit.cli.model_list import listing, static_listing, task_defaults, torchvision_model_names
from cvkit.plugin import discover, get_task

# the CLI in a fresh process, then which of torch/torchvision it imported
LISTING = """
import sys
from cvkit.cli import main
sys.argv = ["cvkit", "models", "classify"]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "torchvision"})
print("imported:", " ".join(heavy) or "none", file=sys.stderr)
"""


@pytest.mark.parametrize("family", ["classification", "detection", "segmentation", "video", "optical_flow"])
def test_torchvision_names_read_from_sources_equal_list_models(family):
    import importlib

    import torchvision

    module = torchvision.models if family == "classification" else importlib.import_module(
        f"torchvision.models.{family}")
    assert torchvision_model_names(family) == torchvision.models.list_models(module=module)


def test_static_listing_equals_the_imported_task_for_every_plugin():
    static = {}
    for name, entry in discover().items():
        if entry.broken:
            continue
        doc = static_listing(name)
        static[name] = doc is not None
        if doc is None:
            continue
        t = get_task(name)
        assert doc == {"names": list(t.model_names()), "default": t.default_model, "defaults": task_defaults(t)}, name
    assert static["classify"] and static["multilabel"] and static["detect"]  # the slow ones to import are covered


def test_first_listing_with_an_empty_cache_imports_no_torch(tmp_path, monkeypatch):
    env = {**os.environ, "CVKIT_CACHE": str(tmp_path / "cache")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-c", LISTING], capture_output=True, text=True, env=env, timeout=300)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 0 and proc.stderr.strip() == "imported: none", proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "model" and "mlp*" in lines and "resnet18" in lines and "vit_b_16" in lines
    assert "--model mlp --epochs 30" in lines[-1]
    # CPU seconds, not wall time: the listing reads a few source files (a torch import alone costs more than this)
    assert (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime) < 3.0
    assert (tmp_path / "cache" / "models" / "classify.json").is_file()
    monkeypatch.setenv("CVKIT_CACHE", str(tmp_path / "cache"))
    cached = listing("classify")  # the cache the subprocess wrote, read back
    assert [n for n in cached["names"] if n + "*" in lines or n in lines] == cached["names"]
