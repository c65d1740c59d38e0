"""Every task's training dataset, cached: the samples of a second epoch come from memory (no image is decoded
again) and equal, tensor for tensor, those of a dataset that keeps nothing, under the same per-sample seeds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from cvkit.data import load_split, materialize_builtin
from cvkit.engine.config import TrainConfig
from cvkit.engine.loader import SafeDataset
from cvkit.engine.setup import apply_task_defaults
from cvkit.plugin import get_task
from cvkit.task import ModelConfig
from cvkit.vision import cache

TASKS = ["detect", "segment", "instance", "pose", "video", "multilabel", "caption", "vqa", "dense", "promptseg",
         "pretrain", "classify"]
NO_READ_IMAGE = {"video"}  # decodes with OpenCV into its own frame cache (frame_cache_mb)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("name", TASKS)
def test_cached_epoch_equals_uncached_and_decodes_nothing(name, monkeypatch):
    try:
        task = get_task(name)
    except Exception as exc:  # a plugin that is not installed here
        pytest.skip(f"{name}: {exc}")
    builtin = task.spec.default_data.split(":", 1)[1]
    cfg = TrainConfig(task=name, data=materialize_builtin(task, builtin, size=8))
    apply_task_defaults(cfg, task)
    raw = load_split(task, cfg.data, "train")
    model = ModelConfig(cfg.model, cfg.img_size, dict(cfg.model_args), task.mean, task.std, False)

    def epoch(dataset) -> list[Any]:
        safe = SafeDataset(dataset, False)
        return [safe[(i, 7_000 + 13 * i)] for i in range(min(4, len(dataset)))]

    monkeypatch.setattr(cache, "_budget", cache.Budget(0))
    plain = epoch(task.dataset(raw, model, train=True))
    monkeypatch.setattr(cache, "_budget", cache.Budget(64 * 2**20))
    kept = task.dataset(raw, model, train=True)
    first = epoch(kept)
    if name not in NO_READ_IMAGE:
        assert cache.process_budget().used > 0, "nothing was cached"
        def refuse(path):
            raise AssertionError(f"decoded {path} again")

        monkeypatch.setattr("cvkit.io.images.read_image_bytes", refuse)
    second = epoch(kept)
    assert same(plain, first), "the first, caching epoch differs from an uncached one"
    assert same(plain, second), "samples made from the cache differ from freshly decoded ones"


AHEAD_TASKS = ["detect", "segment", "instance", "pose", "video", "classify"]


@pytest.mark.parametrize("name", AHEAD_TASKS)
def test_decoded_ahead_samples_equal_plain_ones(name, monkeypatch):
    """The training loop's decode-ahead thread fills the cache with what the step would have decoded: the samples
    then equal those of a dataset that keeps nothing, and the step itself decodes no image."""
    from cvkit.engine.loader import DecodeAhead

    task = get_task(name)
    builtin = task.spec.default_data.split(":", 1)[1]
    cfg = TrainConfig(task=name, data=materialize_builtin(task, builtin, size=8))
    apply_task_defaults(cfg, task)
    raw = load_split(task, cfg.data, "train")
    model = ModelConfig(cfg.model, cfg.img_size, dict(cfg.model_args), task.mean, task.std, False)
    monkeypatch.setattr(cache, "_budget", cache.Budget(0))
    plain = task.dataset(raw, model, train=True)
    n = min(4, len(plain))
    want = [SafeDataset(plain, False)[(i, 9_000 + i)] for i in range(n)]
    monkeypatch.setattr(cache, "_budget", cache.Budget(64 * 2**20))
    ahead = task.dataset(raw, model, train=True)
    assert hasattr(ahead, "decode_ahead")
    DecodeAhead(ahead.decode_ahead, list(range(n))[::-1]).stop_when_done()

    def refuse(*args, **kwargs):
        raise AssertionError("decoded during the step")

    monkeypatch.setattr("cvkit.io.images.read_image_bytes", refuse)
    monkeypatch.setattr("cvkit_video.data.read_frames", refuse, raising=False)
    monkeypatch.setattr("cvkit_video.data.probe", refuse, raising=False)
    got = [SafeDataset(ahead, False)[(i, 9_000 + i)] for i in range(n)]
    assert same(want, got)
