"""Raw annotations as JSON, exactly: what a task's loader returns (ints, dicts of numpy arrays, annotation
dataclasses...) comes back with the same types, dtypes, shapes and bit-identical numbers.

Plain JSON values are written as they are. Everything else is a one-key object whose key starts with ``$``:
``{"$tuple": [...]}``, ``{"$dict": [[key, value], ...]}`` (non-string keys), ``{"$array": [...], "dtype",
"shape"}`` (numpy; also torch tensors as ``$tensor``), ``{"$scalar": v, "dtype"}``, ``{"$set": [...]}``,
``{"$bytes": base64}`` and ``{"$dataclass": "module:Name", "fields": {...}}`` (only classes of ``cvkit`` and of
task plugins, ``cvkit_*``, are ever imported when reading). Python's float repr round-trips exactly; NaN and
infinities are written as JSON's usual ``NaN``/``Infinity`` extensions.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import os
from collections.abc import Collection
from pathlib import PurePath
from typing import Any

import numpy as np

from cvkit.errors import CvkitError

_TRUSTED_PACKAGES = ("cvkit",)  # plus any top-level package named cvkit_*


class NotStorable(CvkitError):
    """An annotation holds something a shard cannot carry (a file reference, an arbitrary object)."""


def encode(obj: Any, allowed: Collection[str] = ()) -> Any:
    """A JSON-ready form of ``obj`` from which :func:`decode` rebuilds an equal object.

    A string naming an existing file is refused unless it is in ``allowed`` (the sample's own image, which the
    shard stores, and the text annotation files already parsed into the targets, named only in messages): any
    other file (a mask, a depth map) would not travel with the shard."""
    if obj is None or isinstance(obj, (bool, str)):
        if isinstance(obj, str) and obj not in allowed and _names_a_file(obj):
            raise NotStorable(f"refers to the file {obj} (shards carry images and JSON annotations only; "
                              "annotations stored in other files such as masks or depth maps are not supported)")
        return obj
    if isinstance(obj, int) and type(obj) is int:
        return obj
    if isinstance(obj, float) and type(obj) is float:
        return obj
    if isinstance(obj, list):
        return [encode(v, allowed) for v in obj]
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return {"$tuple": [encode(v, allowed) for v in obj]}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in obj):
            return {k: encode(v, allowed) for k, v in obj.items()}
        return {"$dict": [[encode(k, allowed), encode(v, allowed)] for k, v in obj.items()]}
    if isinstance(obj, np.ndarray):
        return _array("$array", obj)
    if isinstance(obj, np.generic):
        return {"$scalar": obj.item(), "dtype": obj.dtype.str}
    if type(obj).__module__.startswith("torch") and type(obj).__name__ == "Tensor":
        return _array("$tensor", obj.detach().cpu().numpy())
    if isinstance(obj, (set, frozenset)):
        return {"$set": [encode(v, allowed) for v in sorted(obj, key=repr)], "frozen": isinstance(obj, frozenset)}
    if isinstance(obj, bytes):
        return {"$bytes": base64.b64encode(obj).decode("ascii")}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        cls = type(obj)
        if not _trusted(cls.__module__):
            raise NotStorable(f"holds a {cls.__module__}.{cls.__qualname__} (only cvkit and task-plugin "
                              "dataclasses can be stored)")
        fields = {f.name: encode(getattr(obj, f.name), allowed) for f in dataclasses.fields(obj) if f.init}
        return {"$dataclass": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
    if isinstance(obj, PurePath):
        raise NotStorable(f"refers to the file {obj} (shards carry images and JSON annotations only)")
    raise NotStorable(f"holds a value of type {type(obj).__name__} that cannot be stored as JSON")


def decode(obj: Any) -> Any:
    """The object :func:`encode` was given."""
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) >= 1 and next(iter(obj), "").startswith("$"):
        return _decode_tagged(obj)
    return {k: decode(v) for k, v in obj.items()}


def _decode_tagged(obj: dict[str, Any]) -> Any:
    tag = next(iter(obj))
    if tag == "$tuple":
        return tuple(decode(v) for v in obj[tag])
    if tag == "$dict":
        return {_hashable(decode(k)): decode(v) for k, v in obj[tag]}
    if tag in ("$array", "$tensor"):
        arr = np.asarray(obj[tag], dtype=np.dtype(obj["dtype"])).reshape(obj["shape"])
        if tag == "$tensor":
            import torch

            return torch.from_numpy(arr.copy())
        return arr
    if tag == "$scalar":
        return np.dtype(obj["dtype"]).type(obj[tag])
    if tag == "$set":
        items = [_hashable(decode(v)) for v in obj[tag]]
        return frozenset(items) if obj.get("frozen") else set(items)
    if tag == "$bytes":
        return base64.b64decode(obj[tag])
    if tag == "$dataclass":
        return _dataclass(obj[tag], {k: decode(v) for k, v in obj["fields"].items()})
    raise ValueError(f"unknown tag {tag!r}")


def _array(tag: str, arr: np.ndarray) -> dict[str, Any]:
    if arr.dtype.kind not in "biufc" or arr.dtype.kind == "c":
        raise NotStorable(f"holds an array of dtype {arr.dtype} (numbers and booleans only)")
    flat = arr.reshape(-1).tolist()
    return {tag: flat, "dtype": arr.dtype.str, "shape": list(arr.shape)}


def _hashable(v: Any) -> Any:
    return tuple(_hashable(x) for x in v) if isinstance(v, list) else v


def _trusted(module: str) -> bool:
    top = module.split(".")[0]
    return top in _TRUSTED_PACKAGES or top.startswith("cvkit_")


def _dataclass(name: str, fields: dict[str, Any]) -> Any:
    module, _, qualname = name.partition(":")
    if not _trusted(module):
        raise ValueError(f"refused class {name} (only cvkit and task-plugin dataclasses are read)")
    cls: Any = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ValueError(f"{name} is not a dataclass")
    return cls(**fields)


def _names_a_file(text: str) -> bool:
    """A path (absolute, or relative like the loaders' own) to an existing file, such as a mask or depth map
    beside the image: the shard would depend on it, so it is refused rather than stored as a dangling name."""
    return len(text) < 4096 and ("/" in text or os.sep in text or "." in text) and os.path.isfile(text)
