"""Builds an :class:`ExplainContext` from a checkpoint and the ``cvkit visualize`` options, and runs a kind."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import torch

from cvkit.errors import UsageError


def run_explain(kind: str, sources: list[str], weights: Path | None, out: Path, data: str | None,
                split: str | None, layer: str | None, list_layers: bool, target: str | None,
                options: list[str], device: str, limit: int | None = None) -> list[Path]:
    from cvkit.checkpoint import load_model
    from cvkit.data import load_split
    from cvkit.engine.device import select_device
    from cvkit.engine.loader import EpochSampler, make_loader
    from cvkit.explain import KINDS, ExplainContext
    from cvkit.explain import list_layers as layers_of
    from cvkit.io.sources import expand_sources

    if kind not in KINDS:
        known = ", ".join(["predictions", "dataset", "curves", "confusion", *KINDS])
        raise UsageError(f"unknown visualisation {kind!r} (choose from {known})")
    if weights is None:
        raise UsageError(f"visualize {kind} needs --weights CKPT")
    dev = select_device(device)
    task, model, ckpt = load_model(weights, dev)
    opts: dict[str, object] = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--option {item!r}: expected KEY=VALUE")
        opts[key.replace("-", "_")] = value
    if target is not None:
        opts["target"] = target
    if split is not None:
        opts["split"] = split
        opts["query_split"] = split
    if limit is not None:
        opts["count"] = limit

    def batches(name: str) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        raw = load_split(task, data or ckpt.info.spec, name)
        dataset = task.dataset(raw, ckpt.model, train=False)
        loader = make_loader(dataset, task.collate, 64, EpochSampler(len(dataset), False), 0, skip_bad=True)
        for batch, _ in loader:
            if batch is not None:
                yield batch.inputs, torch.as_tensor(batch.targets)

    inputs = []
    if sources:
        paths = list(islice(expand_sources(sources, task.input_extensions), limit or 64))
        dataset = task.predict_dataset(paths, ckpt.model, ckpt.info)
        inputs = [(paths[i], task.collate([dataset[i]]).inputs[0]) for i in range(len(dataset))]
    ctx = ExplainContext(model=model, out=out, device=dev, task_name=task.name, classes=list(ckpt.info.classes),
                         mean=tuple(ckpt.model.mean), std=tuple(ckpt.model.std), img_size=ckpt.model.img_size,
                         inputs=inputs, load_split=batches, layer=layer, options=opts)
    if list_layers:
        size = ckpt.model.img_size
        for name, kind_name, shape in layers_of(model, torch.zeros(1, 3, size, size, device=dev)):
            print(f"{name}\t{kind_name}\t{'x'.join(map(str, shape))}")
        return []
    return KINDS[kind](ctx)
