"""The small model protocol: what a model can say about itself, and the one place the core asks.

In the spirit of timm's ``default_cfg`` / ``get_classifier`` / ``forward_features``, a model built by a plugin
may declare (all optional; the fallbacks below apply when it does not):

``head_module: str``
    Dotted name of the classifier head (``get_classifier()`` returning the module works too). Fallback: the last
    ``nn.Linear``, else the last module with parameters of its own.
``backbone_modules: tuple[str, ...]``
    Dotted names of the modules ``--freeze-backbone`` freezes. Fallback: a child named ``backbone`` (also under a
    wrapper's ``net``, the torchvision convention); without one, everything but the head is frozen (linear probe).
``forward_features(x) -> Tensor``
    Features for t-SNE, nearest neighbours and linear probes. Fallback: the input of the head.
``default_cfg: dict`` (or ``pretrained_cfg``)
    ``mean``, ``std`` and ``input_size`` ``(C, H, W)`` of its inputs, used instead of the task's defaults.
``fitted_in_one_pass = True`` with ``fit(batches)``
    The model is fitted by one pass over the training batches (k-NN, HOG + SVM) instead of by gradient descent.
``not_exportable: str``
    Why ``cvkit export`` cannot turn the model into a graph (e.g. its forward pass runs OpenCV or scikit-learn
    code); export then refuses with this reason instead of failing inside the tracer.

The engine (``--freeze-backbone``, one-pass fitting, normalisation) and ``cvkit.explain`` (CAM's head, t-SNE's
features) use these functions only, so a model is described once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel / DataParallel wrapper (the model itself otherwise)."""
    return getattr(model, "module", model) if isinstance(model, nn.Module) else model


def _get(model: nn.Module, dotted: str) -> nn.Module | None:
    try:
        found = model.get_submodule(dotted) if dotted else model
    except AttributeError:
        return None
    return found if isinstance(found, nn.Module) else None


def _name_of(model: nn.Module, module: nn.Module) -> str | None:
    return next((n for n, m in model.named_modules() if m is module), None)


def head(model: nn.Module) -> tuple[str, nn.Module] | None:
    """``(dotted name, module)`` of the classifier head, or None when the model has none."""
    m = unwrap(model)
    declared = getattr(m, "head_module", None)
    if isinstance(declared, str):
        found = _get(m, declared)
        return (declared, found) if found is not None else None
    get_classifier = getattr(m, "get_classifier", None)
    if callable(get_classifier):
        module = get_classifier()
        name = _name_of(m, module) if isinstance(module, nn.Module) else None
        if name is not None:
            return name, module
    linears = [(n, mod) for n, mod in m.named_modules() if isinstance(mod, nn.Linear)]
    if linears:
        return linears[-1]
    owners = [(n, mod) for n, mod in m.named_modules() if any(True for _ in mod.parameters(recurse=False))]
    return owners[-1] if owners else None


def backbone(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules ``--freeze-backbone`` freezes (empty: the model names none; freeze all but the head)."""
    m = unwrap(model)
    declared = getattr(m, "backbone_modules", None)
    if declared is not None:
        names = [declared] if isinstance(declared, str) else list(declared)
    else:
        names = [n for n in ("backbone", "net.backbone") if _get(m, n) is not None][:1]
    return [(n, found) for n in names if (found := _get(m, n)) is not None]


def freeze_backbone(model: nn.Module) -> list[str]:
    """Freeze the declared backbone; a model without one keeps only its head trainable (linear probe).

    Returns the names of the modules frozen (for the log)."""
    parts = backbone(model)
    if parts:
        for _, part in parts:
            part.requires_grad_(False)
        return [n for n, _ in parts]
    m = unwrap(model)
    found = head(m)
    m.requires_grad_(False)
    if found is not None:
        found[1].requires_grad_(True)
    return [n for n, _ in m.named_children() if found is None or not found[0].startswith(n)]


def features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``(B, D)`` features of a normalised batch: ``forward_features`` when declared, else the head's input.

    Feature maps are averaged over their spatial axes."""
    m = unwrap(model)
    forward_features = getattr(m, "forward_features", None)
    if callable(forward_features):
        f = forward_features(x)
    else:
        found = head(m)
        if found is None:
            from cvkit.errors import CvkitError

            raise CvkitError(f"{type(m).__name__} declares no features and has no head to read them from")
        store: list[torch.Tensor] = []
        handle = found[1].register_forward_hook(lambda _m, args, _out: store.append(args[0]))
        try:
            m(x)
        finally:
            handle.remove()
        if not store:
            from cvkit.errors import CvkitError

            raise CvkitError(f"the head {found[0]!r} of {type(m).__name__} did not run")
        f = store[0]
    if f.dim() > 2:
        f = f.flatten(2).mean(2)
    return f


def input_config(model: nn.Module) -> dict[str, Any]:
    """The model's declared ``mean``, ``std`` and ``input_size`` (only the keys it declares)."""
    m = unwrap(model)
    cfg = getattr(m, "default_cfg", None) or getattr(m, "pretrained_cfg", None) or {}
    out: dict[str, Any] = {}
    for key in ("mean", "std"):
        if cfg.get(key) is not None:
            out[key] = tuple(float(v) for v in cfg[key])
    if cfg.get("input_size") is not None:
        out["input_size"] = tuple(int(v) for v in cfg["input_size"])
    return out


def fitted_in_one_pass(model: nn.Module) -> bool:
    """True when the model is fitted by ``fit(batches)`` in one pass instead of by gradient descent."""
    m = unwrap(model)
    return bool(getattr(m, "fitted_in_one_pass", False)) and callable(getattr(m, "fit", None))


def fit_in_one_pass(model: nn.Module, batches: Iterable[Any]) -> bool:
    """Fit a one-pass model on ``batches`` (``cvkit.task.Batch`` objects); False (nothing consumed) otherwise."""
    if not fitted_in_one_pass(model):
        return False
    with torch.no_grad():
        unwrap(model).fit(iter(batches))
    return True


def export_refusal(model: nn.Module) -> str | None:
    """The reason the model declares for not being exportable, or None."""
    reason = getattr(unwrap(model), "not_exportable", None)
    return str(reason) if reason else None


__all__ = ["unwrap", "head", "backbone", "freeze_backbone", "features", "input_config", "fitted_in_one_pass",
           "fit_in_one_pass", "export_refusal"]
