"""What ``cvkit models`` lists: names (no model is built unless parameter counts are asked for) and a model's
``--model-arg`` keys read from its builder's signature."""

from __future__ import annotations

import fnmatch
import inspect
from typing import Any

REQUIRED = "(required)"
# arguments the task itself passes to a builder (from the dataset and the options), never --model-arg keys
PASSED_BY_TASK = {"self", "weights", "progress", "num_classes", "img_size", "image_size", "in_features",
                  "pretrained", "args", "kwargs"}


def list_models(task: Any, pattern: str | None = None, num_classes: int | None = None) -> list[dict[str, Any]]:
    """``{"name", "default", "params", "note"}`` per model name matching ``pattern`` (fnmatch, case-insensitive);
    ``params`` is counted on the meta device only when ``num_classes`` is given."""
    names = [n for n in task.model_names() if pattern is None or fnmatch.fnmatch(n.lower(), pattern.lower())]
    rows = []
    for name in names:
        row: dict[str, Any] = {"name": name, "default": name == task.default_model, "params": None, "note": ""}
        if num_classes is not None:
            row["params"], row["note"] = count_on_meta(task, name, num_classes)
        rows.append(row)
    return rows


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
