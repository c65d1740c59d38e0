"""What ``cvkit models`` lists: names (no model is built unless parameter counts are asked for) and a model's
``--model-arg`` keys read from its builder's signature."""

from __future__ import annotations

import fnmatch
import inspect
import json
from pathlib import Path
from typing import Any

REQUIRED = "(required)"
# arguments the task itself passes to a builder (from the dataset and the options), never --model-arg keys
PASSED_BY_TASK = {"self", "weights", "progress", "num_classes", "img_size", "image_size", "in_features",
                  "pretrained", "args", "kwargs"}


def listing(task_name: str) -> dict[str, Any]:
    """``{"names", "default", "defaults"}`` of a task, from a cache keyed by the versions and source files of the
    plugin, cvkit, torch and torchvision: a repeated ``cvkit models TASK`` imports no torch (torchvision alone
    takes seconds to import)."""
    from cvkit.data import cache_dir
    from cvkit.io.atomic import write_text
    from cvkit.plugin import get_task

    key = cache_key(task_name)
    path = cache_dir() / "models" / f"{task_name}.json"
    try:
        doc = json.loads(path.read_text())
        if doc.get("key") == key:
            return doc
    except (OSError, ValueError, AttributeError):
        pass
    from cvkit.cli.tasks import task_defaults

    t = get_task(task_name)
    doc = {"key": key, "names": list(t.model_names()), "default": t.default_model, "defaults": task_defaults(t)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps(doc))
    except OSError:  # a read-only cache only costs the next call its speed
        pass
    return doc


def cache_key(task_name: str) -> str | None:
    """Versions of the plugin, cvkit, torch, torchvision and the newest modification time of the plugin's
    source files (an editable install changes without a version); None for an unknown or broken task."""
    import importlib.util
    from importlib.metadata import PackageNotFoundError, version

    from cvkit.plugin import discover

    entry = discover().get(task_name)
    if entry is None or entry.broken:
        return None
    parts = [entry.package, entry.version]
    for dist in ("cvkit", "torch", "torchvision"):
        try:
            parts.append(version(dist))
        except PackageNotFoundError:
            parts.append("-")
    module = entry.spec.implementation.partition(":")[0].partition(".")[0]
    spec = importlib.util.find_spec(module)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        parts.append(str(max((p.stat().st_mtime_ns for p in Path(folder).rglob("*.py")), default=0)))
    return "|".join(parts)


def list_models(names: list[str], default: str, pattern: str | None = None) -> list[dict[str, Any]]:
    """``{"name", "default", "params", "note"}`` per model name matching ``pattern`` (fnmatch, case-insensitive)."""
    return [{"name": n, "default": n == default, "params": None, "note": ""} for n in names
            if pattern is None or fnmatch.fnmatch(n.lower(), pattern.lower())]


def count_on_meta(task: Any, name: str, num_classes: int) -> tuple[int | None, str]:
    """Parameters of ``name`` built on the meta device (shapes only), or None and why it cannot be built."""
    import torch

    from cvkit.contract import DatasetInfo, ModelConfig

    info = DatasetInfo("count", "none", "", "train", [str(i) for i in range(num_classes)])
    try:
        try:
            with torch.device("meta"):
                model = task.build_model(ModelConfig(name, task.default_img_size), info)
        except (NotImplementedError, RuntimeError):  # a builder that copies data at construction
            model = task.build_model(ModelConfig(name, task.default_img_size), info)
        return sum(p.numel() for p in model.parameters()), ""
    except Exception as exc:  # one model that cannot be built at this size still lists the others
        text = str(exc).strip().splitlines()
        reason = text[0][:70] if text else type(exc).__name__
        return None, f"not buildable at --img-size {task.default_img_size}: {reason}"


def model_arguments(task: Any, name: str) -> dict[str, Any] | None:
    """``{key: default}`` of the model's ``--model-arg`` keys (``REQUIRED`` when without default), or None when
    unknown. A task may declare them (``model_arguments(name)``); torchvision models are read from their class."""
    declared = getattr(task, "model_arguments", None)
    if callable(declared):
        return declared(name)
    try:
        import torchvision

        builder = torchvision.models.get_model_builder(name)
    except (ImportError, ValueError):
        return None
    cls = inspect.signature(builder).return_annotation
    if not inspect.isclass(cls):
        return signature_defaults(builder)
    # the builder fills the class's required arguments (block, layers, ...): only the defaulted ones are free
    return {k: v for k, v in signature_defaults(cls.__init__).items() if v != REQUIRED}


def signature_defaults(fn: Any) -> dict[str, Any]:
    """Keyword parameters of ``fn`` with their defaults, leaving out what the task passes itself."""
    out: dict[str, Any] = {}
    for p in inspect.signature(fn).parameters.values():
        if p.name in PASSED_BY_TASK or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out[p.name] = REQUIRED if p.default is p.empty else p.default
    return out
