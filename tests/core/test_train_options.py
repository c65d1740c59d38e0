"""--ema, --label-smoothing, --mixup/--cutmix and --save-every: their arithmetic, and bit-exact resumes."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cvkit.engine import train as engine
from cvkit.engine.config import TrainConfig
from cvkit.engine.ema import RAMP, ModelEMA
from cvkit.engine.mix import TrainOptions, check_options
from cvkit.errors import UsageError
from tests.conftest import StopAfter

FAST = dict(task="classify", data="builtin:digits", batch_size=256)  # 6 steps an epoch on digits' training split


def _cfg(out: Path, **kw) -> TrainConfig:
    return TrainConfig(**{**FAST, "out": str(out), **kw})


def _ckpt(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def _equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _history(ck: dict) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in ("time", "data_wait")} for row in ck["history"]]


# ----------------------------------------------------------------------------------------------------- EMA
def test_ema_averages_floats_with_the_ramped_decay_and_copies_integer_buffers() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    ema = ModelEMA(model, decay=0.99)
    start = {k: v.clone() for k, v in ema.module.state_dict().items()}
    with torch.no_grad():
        model[0].weight.add_(1.0)
    model.train()(torch.randn(4, 3))  # moves the BatchNorm statistics and counts a batch
    ema.update(model)
    d = 0.99 * (1 - math.exp(-1 / RAMP))
    live, got = model.state_dict(), ema.module.state_dict()
    for k in ("0.weight", "0.bias", "1.running_mean", "1.running_var"):
        assert torch.allclose(got[k], d * start[k] + (1 - d) * live[k], atol=1e-7), k
    assert not torch.equal(got["0.weight"], live["0.weight"])  # an average, not a copy
    assert got["1.num_batches_tracked"].item() == 1  # integers are copied
    assert ema.updates == 1 and not ema.module.training
    assert ema.current_decay() == pytest.approx(0.99 * (1 - math.exp(-2 / RAMP)))


def test_ema_run_validates_and_saves_the_average(tmp_path: Path) -> None:
    from cvkit.checkpoint import load_model
    from cvkit.engine.evaluate import evaluate_model

    out = tmp_path / "ema"
    engine.train(_cfg(out, epochs=1, ema=True, ema_decay=0.999), set())
    last, best = _ckpt(out / "last.pt"), _ckpt(out / "best.pt")
    assert last["ema"]["updates"] == last["step"] == 6 and last["ema"]["decay"] == 0.999
    assert not _equal(last["state_dict"], last["ema"]["raw"])  # the average differs from the optimised weights
    assert _equal(best["state_dict"], last["state_dict"])
    task, model, ck = load_model(out / "best.pt")  # what eval/predict/export build: the average
    run = engine.prepare(_cfg(tmp_path / "again", epochs=1), set())
    result = evaluate_model(task, model, run.val_set, torch.device("cpu"), 256)
    assert result.metrics["top1"] == ck.history[-1]["val_top1"]


def test_ema_mixing_and_smoothing_resume_mid_epoch_bit_exactly(tmp_path: Path) -> None:
    options = dict(epochs=2, ema=True, label_smoothing=0.1, mixup=0.4, cutmix=1.0, model_args={"dropout": 0.2})
    engine.train(_cfg(tmp_path / "full", **options), set())
    run = engine.prepare(_cfg(tmp_path / "part", **options), set())
    with pytest.raises(engine.Interrupted):
        engine.fit(run, StopAfter(8))  # 7 asks in epoch 1 (6 batches, its end): stops at batch 2 of epoch 2
    assert _ckpt(tmp_path / "part" / "last.pt")["epoch_step"] == 2
    resumed = _cfg(tmp_path / "part", **options, resume=str(tmp_path / "part" / "last.pt"), exist_ok=True)
    engine.train(resumed, {"resume"})
    a, b = _ckpt(tmp_path / "full" / "last.pt"), _ckpt(tmp_path / "part" / "last.pt")
    assert _equal(a["state_dict"], b["state_dict"]) and _equal(a["ema"]["raw"], b["ema"]["raw"])
    assert a["ema"]["updates"] == b["ema"]["updates"] == 12
    assert _history(a) == _history(b)



# --------------------------------------------------------------------------------------------- save-every
def test_save_every_writes_resumable_mid_epoch_checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snap = tmp_path / "snap"
    snap.mkdir()
    saves: list[tuple[int, int, int]] = []
    save = engine._save

    def recording(run, optimizer, scheduler, scaler, name):
        path = save(run, optimizer, scheduler, scaler, name)
        if name == "last.pt":
            saves.append((run.ckpt.epoch, run.ckpt.epoch_step, scheduler.last_epoch))
        if (run.ckpt.epoch, run.ckpt.epoch_step) == (1, 2):  # second epoch, after 2 optimizer steps
            shutil.copy(path, snap / "last.pt")
        return path

    monkeypatch.setattr(engine, "_save", recording)
    options = dict(epochs=2, save_every=4, accumulate=2, ema=True, model_args={"dropout": 0.2})
    engine.train(_cfg(tmp_path / "full", **options), set())
    # 3 optimizer steps an epoch (6 batches, 2 per step): every 4th step is step 4 (epoch 2, after batch 2)
    assert saves == [(1, 0, 3), (1, 2, 4), (2, 0, 6)]  # end of epoch 1, step 4 (mid-epoch 2), end of epoch 2
    assert not list((tmp_path / "full").glob(".*.tmp"))  # written atomically, nothing left behind
    monkeypatch.setattr(engine, "_save", save)
    engine.train(_cfg(snap, **options, resume=str(snap / "last.pt"), exist_ok=True), {"resume", "out"})
    a, b = _ckpt(tmp_path / "full" / "last.pt"), _ckpt(snap / "last.pt")
    assert _equal(a["state_dict"], b["state_dict"]) and _equal(a["ema"]["raw"], b["ema"]["raw"])
    assert _history(a) == _history(b)


# ----------------------------------------------------------------------------------- smoothing and mixing
def test_label_smoothing_is_the_smoothed_cross_entropy() -> None:
    from cvkit.plugin import get_task

    task = get_task("classify")
    torch.manual_seed(0)
    model = nn.Linear(6, 4)
    x, y = torch.randn(5, 6), torch.tensor([0, 1, 2, 3, 1])
    batch = SimpleNamespace(inputs=x, targets=y)
    eps = 0.2
    got = task.train_step(model, batch, options=TrainOptions(label_smoothing=eps, num_classes=4))["loss"]
    logp = model(x).log_softmax(1)
    expected = ((1 - eps) * -logp[torch.arange(5), y] + eps * -logp.mean(1)).mean()
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)
    assert task.train_step(model, batch)["loss"].item() == pytest.approx(F.cross_entropy(model(x), y).item())


def test_mixup_blends_pairs_and_leaves_the_run_random_stream_alone() -> None:
    x = torch.rand(6, 3, 8, 8)
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    opts = TrainOptions(mixup=0.4, seed=11, num_classes=5)
    torch.manual_seed(5)
    before = torch.rand(3)
    torch.manual_seed(5)
    mixed, soft = opts.mix(x, y)
    assert torch.equal(torch.rand(3), before)  # the global generator is restored
    assert soft.shape == (6, 5) and torch.allclose(soft.sum(1), torch.ones(6))
    lam = soft[1, 1].item()  # sample 1 is mixed with sample 0 (torchvision rolls the batch by one)
    assert 0 < lam < 1 and soft[1, 0].item() == pytest.approx(1 - lam)
    assert torch.allclose(mixed, lam * x + (1 - lam) * x.roll(1, 0), atol=1e-6)
    again, soft2 = opts.mix(x, y)  # the same seed draws the same mix
    assert torch.equal(again, mixed) and torch.equal(soft2, soft)
    other, _ = TrainOptions(mixup=0.4, seed=12, num_classes=5).mix(x, y)
    assert not torch.equal(other, mixed)


def test_cutmix_pastes_a_box_whose_area_gives_the_targets() -> None:
    x = torch.rand(4, 3, 16, 16)
    y = torch.tensor([0, 1, 2, 3])
    mixed, soft = TrainOptions(cutmix=1.0, seed=3, num_classes=4).mix(x, y)
    pasted = (mixed != x).any(1)  # pixels taken from the rolled batch
    assert torch.equal(mixed[:, :, pasted[0]], x.roll(1, 0)[:, :, pasted[0]])
    fraction = pasted[0].float().mean().item()
    assert 0 < fraction < 1 and soft[0, 3].item() == pytest.approx(fraction, abs=1e-6)  # sample 0 takes 3's box
    assert soft[0, 0].item() == pytest.approx(1 - fraction, abs=1e-6)


def test_options_are_refused_where_they_do_not_apply() -> None:
    detect = SimpleNamespace(name="detect", train_options=())
    with pytest.raises(UsageError, match="--mixup: task 'detect' does not support it"):
        check_options(detect, {"label_smoothing": 0.0, "mixup": 0.2, "cutmix": 0.0})
    with pytest.raises(UsageError, match="--label-smoothing 1.0: expected a value in"):
        check_options(SimpleNamespace(name="classify", train_options=("label_smoothing",)),
                      {"label_smoothing": 1.0})
    from cvkit.plugin import get_task

    svm = SimpleNamespace(loss="hinge")
    svm_model = nn.Linear(4, 3)
    svm_model.loss = svm.loss
    batch = SimpleNamespace(inputs=torch.randn(2, 4), targets=torch.tensor([0, 1]))
    with pytest.raises(UsageError, match="svm is trained with the hinge loss"):
        get_task("classify").train_step(svm_model, batch, options=TrainOptions(mixup=0.2, num_classes=3))


def test_cli_help_shows_the_defaults_and_refuses_an_unsupported_task() -> None:
    from typer.testing import CliRunner

    from cvkit.cli import app
    from cvkit.plugin import task_names

    runner = CliRunner()
    text = " ".join(runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).output.split())
    for expected in ("--ema-decay <float range>", "[default: 0.9998;", "--save-every <int range>",
                     "--mixup <float range>", "--cutmix <float range>", "--label-smoothing <float range>",
                     "--pretrained [PATH]", "[default: (off)]"):
        assert expected in text, expected
    others = [t for t in task_names() if t not in ("classify",)]
    if others:  # another task without label smoothing: a usage error (exit 2) naming it, before any data is read
        proc = runner.invoke(app, ["train", others[0], "--label-smoothing", "0.1"])
        assert isinstance(proc.exception, UsageError) and proc.exception.exit_code == 2
        assert f"--label-smoothing: task {others[0]!r} does not support it" in str(proc.exception)
