"""Naming, finding and listing layers, and capturing what they compute (forward hooks).

Layer names are the dotted ``named_modules()`` names (``features.3``, ``layer4.1.conv2``), the same names
``cvkit count-params --per-layer`` prints.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from cvkit.errors import CvkitError, UsageError


def first_tensor(value: Any) -> torch.Tensor | None:
    """The first tensor in a module's output (tensors, tuples, lists and dicts are searched)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        for item in value:
            found = first_tensor(item)
            if found is not None:
                return found
    return None


def get_layer(model: nn.Module, name: str) -> nn.Module:
    """The module called ``name``; a wrong name is a usage error that suggests the closest names."""
    modules = dict(model.named_modules())
    if name in modules and name:
        return modules[name]
    names = [n for n in modules if n]
    close = difflib.get_close_matches(name, names, n=5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; --list-layers shows them"
    raise UsageError(f"--layer {name!r} is not a layer of this model{hint}")


def convs(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def last_conv(model: nn.Module) -> str:
    """The last Conv2d in registration order (Grad-CAM's default layer)."""
    found = convs(model)
    if not found:
        raise CvkitError(f"the model ({type(model).__name__}) has no Conv2d layer; pass --layer NAME")
    return found[-1][0]


def linears(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]


def first_layer(model: nn.Module) -> str:
    """The first Conv2d, or for a model without convolutions the first Linear."""
    found = convs(model) or linears(model)
    if not found:
        raise CvkitError(f"the model ({type(model).__name__}) has no Conv2d or Linear layer; pass --layer NAME")
    return found[0][0]


def middle_layer(model: nn.Module) -> str:
    """The middle Conv2d, or for a model without convolutions the middle hidden Linear (not the head)."""
    found = convs(model) or linears(model)[:-1]
    if not found:
        raise CvkitError(f"the model ({type(model).__name__}) has no hidden Conv2d or Linear layer; pass --layer")
    return found[(len(found) - 1) // 2][0]


@contextmanager
def capture(model: nn.Module, names: list[str], inputs: bool = False) -> Iterator[dict[str, torch.Tensor]]:
    """Record the output (or, with ``inputs``, the first input) of each named layer during forward passes.

    The recorded tensors stay in the autograd graph, so gradients can be taken with respect to them."""
    store: dict[str, torch.Tensor] = {}
    handles = []
    modules = dict(model.named_modules())
    for name in names:
        module = modules[name] if name in modules and name else get_layer(model, name)

        def hook(_m: nn.Module, args: tuple, out: Any, name: str = name) -> None:
            value = first_tensor(args) if inputs else first_tensor(out)
            if value is not None:
                store[name] = value

        handles.append(module.register_forward_hook(hook))
    try:
        yield store
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def frozen(model: nn.Module) -> Iterator[nn.Module]:
    """Switch off parameter gradients (we only differentiate with respect to inputs and activations)."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``model(x)`` checked to be classification logits ``(B, C)``."""
    out = first_tensor(model(x))
    if out is None or out.dim() != 2 or out.shape[0] != x.shape[0]:
        shape = None if out is None else tuple(out.shape)
        raise CvkitError(f"this visualisation needs a classification model returning logits (B, C); got {shape}")
    return out


def example_input(model: nn.Module, img_size: int = 32, channels: int | None = None) -> torch.Tensor:
    """A zero image ``(1, C, S, S)``; C from the first Conv2d when not given (else 3)."""
    if channels is None:
        found = convs(model)
        channels = found[0][1].in_channels if found else 3
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    return torch.zeros(1, channels, img_size, img_size, device=device)


def list_layers(model: nn.Module, example: torch.Tensor | None = None) -> list[tuple[str, str, tuple]]:
    """Every named layer as ``(name, type, output shape)`` for one forward pass of ``example``.

    Shapes include the batch dimension; a layer not run in that pass has shape ``()``."""
    example = example_input(model) if example is None else example
    names = [n for n, _ in model.named_modules() if n]
    shapes: dict[str, tuple] = {}
    handles = []
    for name, module in model.named_modules():
        if not name:
            continue

        def hook(_m: nn.Module, _a: tuple, out: Any, name: str = name) -> None:
            t = first_tensor(out)
            if name not in shapes and t is not None:
                shapes[name] = tuple(t.shape)

        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    modules = dict(model.named_modules())
    return [(n, type(modules[n]).__name__, shapes.get(n, ())) for n in names]
