"""Every method trains a few steps on a tiny dataset, and evaluation returns finite probe metrics."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from cvkit.data import load_split
from cvkit.engine.evaluate import evaluate_model
from cvkit.plugin import get_task
from cvkit.task import ModelConfig

from .fixtures import make_imagefolder

SMALL = {"encoder": "sample-cnn-gap", "channels": 8}
METHOD_ARGS = {  # both encoder kinds: the ResNet trunk's stride-32 map and the small net's 4 x 4 map
    "relpos": {"chroma": "drop", **SMALL},
    "colorize": {"split_brain": True},
    "rotation": SMALL,
    "simclr": {"rotate": 10, **SMALL},
    "autoencoder": SMALL,
    "supervised": {},
}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_imagefolder(tmp_path_factory.mktemp("folder"), {"train": 6, "val": 3})


@pytest.mark.parametrize("method", list(METHOD_ARGS))
def test_method_trains_and_evaluates(method: str, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cvkit_pretrain.probe.SUBSETS", 1)  # one 10 % subset instead of three: half the fits
    torch.manual_seed(0)
    task = get_task("pretrain")
    raw = load_split(task, f"imagefolder:{data}", "train")
    cfg = ModelConfig(method, 32, dict(METHOD_ARGS[method]), task.mean, task.std)
    model = task.build_model(cfg, raw.info)
    train_set = task.dataset(raw, cfg, train=True)
    batch = task.collate([train_set[i] for i in range(6)])
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    model.train()
    for _ in range(2):
        logs = task.train_step(model, batch)
        assert math.isfinite(float(logs["loss"].detach()))
        opt.zero_grad()
        logs["loss"].backward()
        opt.step()
    assert any(not torch.equal(before[k], v) for k, v in model.backbone.state_dict().items())

    val = task.dataset(load_split(task, f"imagefolder:{data}", "val"), cfg, train=False)
    result = evaluate_model(task, model, val, torch.device("cpu"), 8, show_progress=False)
    m = result.metrics
    for name in ("probe_top1", "probe10_top1", "knn_top1", "knn10_top1", "random_probe_top1", "random_knn_top1",
                 "random_probe10_top1", "random_knn10_top1", "pretext_loss"):
        assert math.isfinite(m[name]), name
    assert m["num_fit"] == 12 and m["num_scored"] == 6
    assert result.primary == "knn_top1"


def test_encoder_options_are_checked() -> None:
    from cvkit.errors import UsageError
    from cvkit_pretrain.models import build

    with pytest.raises(UsageError, match="channels"):
        build("rotation", 32, {"encoder": "resnet18", "channels": 8}, 2)
    with pytest.raises(UsageError, match="power-of-two"):
        build("rotation", 24, SMALL, 2)
    with pytest.raises(UsageError, match="encoder=vgg11"):
        build("rotation", 32, {"encoder": "vgg11"}, 2)
    model = build("autoencoder", 64, dict(SMALL), 2)
    assert model.dim == 8 and model.fmap_size == 4
    assert model.method.encode(model, torch.rand(2, 3, 64, 64)).shape == (2, 8, 4, 4)
