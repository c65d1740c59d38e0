"""What ``cvkit models`` lists: names (no model is built unless parameter counts are asked for) and a model's
``--model-arg`` keys read from its builder's signature."""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import inspect
import json
from pathlib import Path
from typing import Any

REQUIRED = "(required)"
# arguments the task itself passes to a builder (from the dataset and the options), never --model-arg keys
PASSED_BY_TASK = {"self", "weights", "progress", "num_classes", "img_size", "image_size", "in_features",
                  "pretrained", "args", "kwargs"}


def task_defaults(task: object) -> dict[str, object]:
    """What ``cvkit train TASK`` uses for the options left unset (before a dataset card's recommendations)."""
    return {"data": task.spec.default_data, "model": task.default_model, "epochs": task.default_epochs,
            "batch-size": task.default_batch_size, "lr": task.default_lr, "optimizer": task.default_optimizer,
            "weight-decay": task.default_weight_decay, "schedule": task.default_schedule,
            "warmup-epochs": task.default_warmup_epochs, "img-size": task.default_img_size}


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
    doc = static_listing(task_name)  # read from the sources: no torch, no torchvision
    if doc is None:

        t = get_task(task_name)
        doc = {"names": list(t.model_names()), "default": t.default_model, "defaults": task_defaults(t)}
    doc["key"] = key
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


# ------------------------------------------------------------------ the listing read from source files, not imported
# The Task attributes `cvkit train` takes its defaults from, as task_defaults names them.
DEFAULT_ATTRS = {"model": "default_model", "epochs": "default_epochs", "batch-size": "default_batch_size",
                 "lr": "default_lr", "optimizer": "default_optimizer", "weight-decay": "default_weight_decay",
                 "schedule": "default_schedule", "warmup-epochs": "default_warmup_epochs",
                 "img-size": "default_img_size"}


def static_listing(task_name: str) -> dict[str, Any] | None:
    """``{"names", "default", "defaults"}`` without importing the task (torch and torchvision take seconds): names
    from the spec (plus the torchvision family it declares, read from torchvision's sources), defaults from the
    literal class attributes of the Task class and its bases. None when something is not a plain literal: the
    caller then imports the task."""
    from cvkit.plugin import discover

    entry = discover().get(task_name)
    if entry is None or entry.broken:
        return None
    spec = entry.spec
    if spec.extra_models and not spec.torchvision_models:
        return None  # names only the task knows
    names = list(spec.models)
    if spec.torchvision_models:
        extra = torchvision_model_names(spec.torchvision_models)
        if extra is None:
            return None
        names += extra
    module, _, cls = spec.implementation.partition(":")
    attrs = class_attributes(module, cls, set(DEFAULT_ATTRS.values()))
    if attrs is None or set(attrs) != set(DEFAULT_ATTRS.values()):
        return None
    defaults = {"data": spec.default_data, **{key: attrs[attr] for key, attr in DEFAULT_ATTRS.items()}}
    return {"names": names, "default": attrs["default_model"], "defaults": defaults}


def torchvision_model_names(family: str = "classification") -> list[str] | None:
    """What ``torchvision.models.list_models(module=torchvision.models[.FAMILY])`` returns, read from the
    ``@register_model`` decorators of torchvision's source files without importing it; None if not installed."""
    try:
        spec = importlib.util.find_spec("torchvision")  # locates the package, imports nothing
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    if family != "classification":
        folder = folder / family
    if not folder.is_dir():
        return None
    names: set[str] = set()
    for path in sorted(folder.glob("*.py")):
        try:
            tree = ast.parse(path.read_bytes(), str(path))
        except (OSError, SyntaxError, ValueError):
            return None
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                names.update(_registered(node))
    return sorted(names)


def _registered(fn: ast.FunctionDef) -> list[str]:
    """The names ``@register_model()`` / ``@register_model(name=...)`` give ``fn``."""
    out = []
    for deco in fn.decorator_list:
        func = deco.func if isinstance(deco, ast.Call) else None
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if called != "register_model":
            continue
        name = fn.name
        given = [deco.args[0]] if deco.args else [k.value for k in deco.keywords if k.arg == "name"]
        if given and isinstance(given[0], ast.Constant) and isinstance(given[0].value, str):
            name = given[0].value
        out.append(name)
    return out


def class_attributes(module: str, cls: str, wanted: set[str], depth: int = 0) -> dict[str, Any] | None:
    """The ``wanted`` class attributes of ``module:cls`` that are plain literals, following its bases (first base
    first, as the MRO does for single chains); None when a base or a wanted value cannot be read statically."""
    if depth > 8:
        return None
    found = _module_tree(module)
    if found is None:
        return None
    tree, package = found
    node = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls), None)
    if node is None:
        return None
    imports = _imported_names(tree, module, package)
    attrs: dict[str, Any] = {}
    for base in reversed(node.bases):  # the first base wins: applied last
        if isinstance(base, ast.Name) and base.id == "object":
            continue
        if not isinstance(base, ast.Name):
            return None
        where = imports.get(base.id, (module, base.id))
        if where[0] in ("abc", "typing"):  # ABC, Generic, Protocol: no attributes of ours
            continue
        inherited = class_attributes(where[0], where[1], wanted, depth + 1)
        if inherited is None:
            return None
        attrs.update(inherited)
    for stmt in node.body:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else \
            stmt.target if isinstance(stmt, ast.AnnAssign) and stmt.value is not None else None
        if isinstance(target, ast.Name) and target.id in wanted:
            try:
                attrs[target.id] = ast.literal_eval(stmt.value)
            except (ValueError, TypeError, SyntaxError):
                return None
    return attrs


def _module_tree(module: str) -> tuple[ast.Module, str] | None:
    """The parsed source of ``module`` (its parent packages are imported to locate it: plugins keep theirs light)
    and the package it belongs to."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    try:
        tree = ast.parse(Path(spec.origin).read_bytes(), spec.origin)
    except (OSError, SyntaxError, ValueError):
        return None
    package = module if spec.submodule_search_locations else module.rpartition(".")[0]
    return tree, package


def _imported_names(tree: ast.Module, module: str, package: str) -> dict[str, tuple[str, str]]:
    """``{local name: (module, name)}`` of the module's top-level ``from X import Y [as Z]`` statements."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            for alias in node.names:
                out[alias.asname or alias.name] = (base, alias.name)
    return out
