"""What ``count-params`` counts: ``MODEL|CKPT|path/file.py:function|package.module:function``.

- an existing checkpoint file: its model, weights loaded, at the checkpoint's image size;
- ``path/to/file.py:function`` or ``package.module:function`` (the uvicorn/setuptools convention): the function
  is called with no arguments and returns an ``nn.Module``, or ``(module, example_input)``; an attribute that
  already is a module is used as it is;
- a model name: a model of an installed task (``--task`` picks one when several tasks have it), or any
  torchvision model, built by torchvision with its own defaults (ImageNet's 1,000 classes, COCO's 91).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cvkit.errors import CvkitError, UsageError

Builder = Callable[[], tuple[nn.Module, Any]]
EXPORTED = {".onnx", ".ts", ".torchscript"}
TV_DEFAULT_SIZE = {"video": (3, 16, 112, 112)}


@dataclass
class Target:
    """A model to count: ``build()`` returns ``(model, example_input)``; ``meta`` says it may first be tried on
    the meta device (shapes only, no memory, no compute), with a real CPU run as the fallback."""

    label: str
    task: str | None
    input_size: tuple[int, ...]
    build: Builder
    meta: bool = True


def parse_input_size(text: str | None) -> tuple[int, ...] | None:
    """``C,H,W`` or ``C,T,H,W`` (``x`` also separates); a single ``N`` means ``3,N,N``."""
    if text is None or not str(text).strip():
        return None
    parts = [p for p in re.split(r"[,x\s]+", str(text).strip()) if p]
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise UsageError(f"--input-size {text!r}: expected integers C,H,W or C,T,H,W") from None
    if len(dims) == 1:
        dims = (3, dims[0], dims[0])
    if len(dims) not in (3, 4) or min(dims) < 1:
        raise UsageError(f"--input-size {text!r}: expected C,H,W or C,T,H,W with positive sizes")
    return dims


def resolve(spec: str, task: str | None = None, input_size: tuple[int, ...] | None = None,
            num_classes: int = 10) -> Target:
    """Turn the MODEL|CKPT argument into a :class:`Target`."""
    path = Path(spec)
    if path.suffix.lower() in EXPORTED and path.exists():
        raise UsageError(f"{spec}: count-params reads checkpoints and models, not exported files; "
                         "pass the checkpoint it was exported from")
    if path.is_file():
        return _checkpoint(path, task, input_size)
    module, sep, attr = spec.rpartition(":")
    if sep and attr and (module.endswith(".py") or "/" in module or "\\" in module):
        return _from_file(Path(module), attr, input_size)
    if sep and attr and re.fullmatch(r"[A-Za-z_][\w.]*", module):
        return _from_module(module, attr, input_size)
    return _by_name(spec, task, input_size, num_classes)


# ------------------------------------------------------------------ checkpoints
def _checkpoint(path: Path, task: str | None, input_size: tuple[int, ...] | None) -> Target:
    from cvkit.checkpoint import load_model

    t, model, ckpt = load_model(path, "cpu", task=task)
    size = input_size or _with_img_size(t.default_input_size, ckpt.model.img_size)
    return Target(f"{path} ({ckpt.task}/{ckpt.model.name})", ckpt.task, size,
                  lambda: (model, t.example_input(model, size)), meta=False)


def _with_img_size(default: tuple[int, ...], img_size: int) -> tuple[int, ...]:
    return (*default[:-2], img_size, img_size)


# ------------------------------------------------------------------ user builders
def _from_file(file: Path, attr: str, input_size: tuple[int, ...] | None) -> Target:
    if not file.is_file():
        raise CvkitError(f"{file}: no such file (expected path/to/file.py:function)")
    name = f"_cvkit_user_{abs(hash(str(file.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise CvkitError(f"{file}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(file.resolve().parent))  # so the file's own sibling imports work
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise CvkitError(f"{file}: failed to import: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.path.remove(str(file.resolve().parent))
    return _user_target(f"{file}:{attr}", _getattr(module, attr, str(file)), input_size)


def _from_module(module_name: str, attr: str, input_size: tuple[int, ...] | None) -> Target:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise CvkitError(f"{module_name}:{attr}: cannot import {exc.name!r} (is the package installed, "
                         "or did you mean path/to/file.py:function?)") from exc
    except Exception as exc:
        raise CvkitError(f"{module_name}: failed to import: {type(exc).__name__}: {exc}") from exc
    return _user_target(f"{module_name}:{attr}", _getattr(module, attr, module_name), input_size)


def _getattr(module: Any, attr: str, where: str) -> Any:
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise CvkitError(f"{where}: has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def _user_target(label: str, obj: Any, input_size: tuple[int, ...] | None) -> Target:
    size = input_size or (3, 224, 224)

    def build() -> tuple[nn.Module, Any]:
        made = obj if isinstance(obj, nn.Module) else obj()
        example = None
        if isinstance(made, tuple) and len(made) == 2 and isinstance(made[0], nn.Module):
            made, example = made
        if not isinstance(made, nn.Module):
            raise CvkitError(f"{label}: returned a {type(made).__name__}, not a torch.nn.Module")
        return made, (example if example is not None else torch.zeros(1, *size))

    return Target(label, None, size, build, meta=not isinstance(obj, nn.Module))


# ------------------------------------------------------------------ model names
def _by_name(name: str, task: str | None, input_size: tuple[int, ...] | None, num_classes: int) -> Target:
    from cvkit.plugin import discover, get_task

    if task is not None:
        return _task_target(get_task(task), name, input_size, num_classes, check=True)
    claimed = [n for n, e in discover().items() if not e.broken and name in e.spec.models]
    if len(claimed) > 1:
        raise UsageError(f"model {name!r} is offered by several tasks ({', '.join(sorted(claimed))}); pick one "
                         "with --task")
    if claimed:
        return _task_target(get_task(claimed[0]), name, input_size, num_classes, check=False)
    family = _torchvision_family(name)
    if family is not None:
        return _torchvision_target(name, family, input_size)
    for tname, entry in sorted(discover().items()):  # plugins whose names are computed at run time
        if entry.broken:
            continue
        try:
            t = get_task(tname)
            names = t.model_names()
        except CvkitError:
            continue
        if name in names:
            return _task_target(t, name, input_size, num_classes, check=False)
    known = _known_names()
    close = difflib.get_close_matches(name, known, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    if Path(name).suffix:
        raise CvkitError(f"{name}: no such file, and not a model name{hint}")
    raise UsageError(f"unknown model {name!r}{hint}: give a model name (`cvkit models TASK`), a checkpoint, "
                     "path/to/file.py:function or package.module:function")


def _task_target(t: Any, name: str, input_size: tuple[int, ...] | None, num_classes: int,
                 check: bool) -> Target:
    from cvkit.task import DatasetInfo, ModelConfig

    if check and name not in t.model_names():
        close = difflib.get_close_matches(name, t.model_names(), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UsageError(f"task {t.name!r} has no model {name!r}{hint}; see `cvkit models {t.name}`")
    size = input_size or _with_img_size(t.default_input_size, t.default_img_size)
    info = DatasetInfo("count-params", "none", "", "train", [str(i) for i in range(num_classes)])
    config = ModelConfig(name, int(size[-1]))

    def build() -> tuple[nn.Module, Any]:
        model = t.build_model(config, info)
        return model, t.example_input(model, size)

    return Target(f"{t.name}/{name} ({num_classes} classes)", t.name, size, build)


def _torchvision_family(name: str) -> str | None:
    import torchvision.models as tvm

    for family, module in (("classification", tvm), ("detection", tvm.detection),
                           ("segmentation", tvm.segmentation), ("video", tvm.video),
                           ("optical_flow", tvm.optical_flow), ("quantization", tvm.quantization)):
        if name in tvm.list_models(module=module):
            return family
    return None


def _torchvision_target(name: str, family: str, input_size: tuple[int, ...] | None) -> Target:
    import torchvision.models as tvm

    size = input_size or TV_DEFAULT_SIZE.get(family, (3, 224, 224))

    def build() -> tuple[nn.Module, Any]:
        kwargs: dict[str, Any] = {"weights": None}
        if family in ("detection", "segmentation"):
            kwargs["weights_backbone"] = None
        if name.startswith("vit_") and family == "classification":
            kwargs["image_size"] = int(size[-1])
        if name in ("googlenet", "inception_v3"):
            kwargs["init_weights"] = True  # torchvision warns otherwise; no effect on any count
        model = tvm.get_model(name, **kwargs)
        if family == "detection":
            return model, [torch.zeros(*size)]
        if family == "optical_flow":
            return model, (torch.zeros(1, *size), torch.zeros(1, *size))
        return model, torch.zeros(1, *size)

    return Target(f"{name} (torchvision)", None, size, build)


def _known_names() -> list[str]:
    import torchvision.models as tvm

    from cvkit.plugin import discover

    names = set(tvm.list_models())
    for entry in discover().values():
        if not entry.broken:
            names.update(entry.spec.models)
    return sorted(names)
