"""``count-params``: exact parameter counts, MACs, receptive fields and activation memory, layer by layer.

Python API::

    from cvkit.count import count, count_module
    report = count("resnet18")                       # a name, checkpoint or builder, as on the command line
    report = count_module(my_model, torch.zeros(1, 3, 32, 32))
    report.params, report.macs, report.to_dict()["layers"]

Conventions (also in ``docs/count-params.md``): parameters are ``sum(p.numel())`` over the model's unique
parameters; MACs follow :mod:`cvkit.count.macs` (FLOPs = 2 x MACs); receptive fields follow
:mod:`cvkit.count.receptive`; activation memory is the float32 size of every listed layer's output for one
input (batch 1).
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from cvkit.count.profiler import Layer, profile
from cvkit.count.report import CountReport
from cvkit.count.resolve import Target, parse_input_size, resolve
from cvkit.errors import CvkitError

__all__ = ["CountReport", "Layer", "Target", "count", "count_module", "count_target", "parse_input_size",
           "resolve"]

log = logging.getLogger(__name__)


def count(spec: str, task: str | None = None, input_size: tuple[int, ...] | str | None = None,
          num_classes: int = 10) -> CountReport:
    """Count the model named by ``spec`` (``MODEL|CKPT|path/file.py:function|package.module:function``)."""
    size = parse_input_size(input_size) if isinstance(input_size, str) else input_size
    return count_target(resolve(spec, task, size, num_classes))


def count_target(target: Target) -> CountReport:
    """Count on the meta device when the model allows it (no memory, no arithmetic), else with a real CPU run;
    a model whose forward fails everywhere still gets its parameter counts, with the error recorded."""
    if target.meta:
        try:
            with torch.device("meta"):
                model, example = target.build()
        except CvkitError:
            raise
        except Exception as exc:  # builders that compute with tensors (regnet widths) build on the CPU
            log.debug("building %s on the meta device failed (%s)", target.label, exc)
        else:
            try:
                return count_module(model, example, target.input_size, target.label, target.task)
            except Exception as exc:  # data-dependent code (detection post-processing, .item()): run it for real
                log.debug("meta-device count of %s failed (%s); counting on the CPU", target.label, exc)
    model, example = target.build()
    error: BaseException | None = None
    try:
        return count_module(model, example, target.input_size, target.label, target.task)
    except Exception as exc:
        error = exc
    report = CountReport.params_only(model, target.input_size, target.label, target.task)
    report.forward_error = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error) else ''}"
    return report


def count_module(model: nn.Module, example: Any, input_size: tuple[int, ...] | None = None,
                 label: str = "", task: str | None = None) -> CountReport:
    """Count ``model`` on ``example`` (a tensor, a list of images, or a tuple of arguments)."""
    if input_size is None:
        first = example if isinstance(example, torch.Tensor) else None
        input_size = tuple(first.shape[1:]) if first is not None else ()
    rows, _ = profile(model, example)
    report = CountReport.params_only(model, input_size, label or type(model).__name__, task)
    report.layers = rows
    report.macs = sum(r.macs for r in rows)
    report.activation_bytes = sum(r.activation_bytes for r in rows)
    return report
