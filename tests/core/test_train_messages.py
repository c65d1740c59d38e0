"""What training prints: the epoch line's few figures, and a stop request that came as the last epoch ended."""

from __future__ import annotations

from pathlib import Path

import pytest

from cvkit.engine import train as engine
from tests.conftest import StopAfter


def test_epoch_line_shows_loss_primary_and_few_others() -> None:
    row = {"epoch": 3, "step": 9, "lr": 0.1, "train_loss": 1.0, "train_loss_box": 0.5,
           **{f"val_m{i}": i / 10 for i in range(30)}, "val_map": 0.25, "time": 1.0}
    text = engine.epoch_summary(row, "map")
    assert text.startswith("train_loss 1.0000, val_map 0.2500, val_m0 0.0000, val_m1 0.1000")
    assert text.endswith("(+29 more in metrics.csv)") and "val_m2" not in text
    assert engine.epoch_summary({"train_loss": 1.0, "val_acc": 0.5}, "acc") == "train_loss 1.0000, val_acc 0.5000"


def test_stop_request_during_last_evaluation_says_the_run_finished(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from cvkit.engine.config import TrainConfig

    run = engine.prepare(TrainConfig(task="classify", data="builtin:digits", epochs=1, batch_size=256,
                                     out=str(tmp_path / "run")), set())
    stop = engine._StopFlag()
    evaluate = engine._evaluate

    def evaluate_then_signal(*args, **kwargs):  # the Ctrl-C lands while the last epoch is being validated
        stop.requested = True
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(engine, "_evaluate", evaluate_then_signal)
    engine.fit(run, stop)  # no Interrupted: the run is complete
    err = capsys.readouterr().err
    assert "the run finished all 1 epochs (nothing to resume" in err
    assert (tmp_path / "run" / "summary.json").exists()


def test_patience_stops_early_and_a_resume_keeps_counting(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    from dataclasses import replace

    from cvkit.engine.config import TrainConfig

    scores = iter([0.5, 0.6, 0.55, 0.58, 0.9])  # best at epoch 2; epochs 3 and 4 are no better
    evaluate = engine._evaluate

    def scripted(*args, **kwargs):
        result = evaluate(*args, **kwargs)
        return replace(result, metrics={**result.metrics, result.primary: next(scores)})

    monkeypatch.setattr(engine, "_evaluate", scripted)
    out = tmp_path / "run"
    cfg = dict(task="classify", data="builtin:digits", epochs=5, batch_size=512, patience=2, out=str(out))
    engine.train(TrainConfig(**cfg), set())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 4 and summary["stopped_early"] and summary["best"]["epoch"] == 2
    assert "early stop after epoch 4: no better top1 for 2 epochs" in capsys.readouterr().err
    engine.train(TrainConfig(**{**cfg, "resume": str(out / "last.pt"), "exist_ok": True}), {"resume"})
    assert json.loads((out / "summary.json").read_text())["epochs"] == 4  # nothing more was trained


def test_accumulated_gradients_equal_one_big_batch() -> None:
    from types import SimpleNamespace

    import torch

    from cvkit.engine.config import TrainConfig

    torch.manual_seed(0)
    x, y = torch.randn(8, 5), torch.randint(0, 3, (8,))
    task = SimpleNamespace(train_step=lambda m, b: {"loss": torch.nn.functional.cross_entropy(m(b[0]), b[1])})

    def trained(accumulate: int) -> torch.Tensor:
        torch.manual_seed(1)
        model = torch.nn.Linear(5, 3)
        run = SimpleNamespace(task=task, model=model, device=torch.device("cpu"))
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        scaler = torch.amp.GradScaler("cpu", enabled=False)
        cfg = TrainConfig(task="x", accumulate=accumulate, grad_clip=None)
        n = len(x) // accumulate
        for i in range(accumulate):
            engine._step(run, (x[i * n:(i + 1) * n], y[i * n:(i + 1) * n]), opt, scaler, None, cfg,
                         first=i == 0, update=i == accumulate - 1)
        return model.weight.detach().clone()

    assert torch.allclose(trained(1), trained(2), atol=1e-6) and torch.allclose(trained(1), trained(4), atol=1e-6)
    assert not torch.allclose(trained(1), trained(1) * 0)  # the step changed something



def test_accumulate_resumes_mid_epoch_exactly(tmp_path: Path) -> None:
    import torch

    from cvkit.engine.config import TrainConfig

    def cfg(out: Path, **kw) -> TrainConfig:
        return TrainConfig(task="classify", data="builtin:digits", epochs=1, batch_size=128, accumulate=2,
                           out=str(out), **kw)

    engine.train(cfg(tmp_path / "full"), set())
    run = engine.prepare(cfg(tmp_path / "part"), set())
    with pytest.raises(engine.Interrupted):
        engine.fit(run, StopAfter(2))  # asked during the 3rd batch: stops after the 4th, a group boundary
    saved = torch.load(tmp_path / "part" / "last.pt", weights_only=True)
    assert saved["epoch_step"] == 4
    engine.train(cfg(tmp_path / "part", resume=str(tmp_path / "part" / "last.pt"), exist_ok=True), {"resume"})
    a = torch.load(tmp_path / "full" / "last.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "part" / "last.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
