"""Predict over files: the inputs are counted first (a bar with a total, hence an ETA) and the bar shows a rate."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cvkit.io.sources import count_sources, expand_sources


def _images(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        paths.append(folder / f"{i}.png")
        Image.fromarray(np.full((8, 8, 3), i, np.uint8)).save(paths[-1])
    return paths


def test_count_sources_matches_expansion_and_skips_stdin(tmp_path: Path) -> None:
    _images(tmp_path / "a" / "b", 3)
    _images(tmp_path / "c", 2)
    (tmp_path / "a" / "notes.txt").write_text("x")
    args = [str(tmp_path / "a"), str(tmp_path / "c" / "*.png"), str(tmp_path / "missing.png")]
    assert count_sources(args) == len(list(expand_sources(args))) == 6
    assert count_sources([str(tmp_path / "a"), "-"]) is None
    assert count_sources([f"shards:{tmp_path}"]) is None


def test_predict_cli_gives_the_bar_its_total(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cvkit.engine.predict as engine_predict
    import cvkit.engine.predict_cli as cli
    from cvkit.contract import DatasetInfo, ModelConfig
    from cvkit.plugin import get_task

    task = get_task("classify")
    info = DatasetInfo("x", "imagefolder", "", "val", [str(i) for i in range(3)])
    cfg = ModelConfig("softmax", 8)
    model = task.build_model(cfg, info).eval()
    monkeypatch.setattr(cli, "_load", lambda *a: (task, model, cfg, info))
    monkeypatch.setattr(cli, "progress_shown", lambda *a: True)
    seen = []
    real_bar = engine_predict.progress_bar

    def recording_bar(description, total, enabled=True):
        seen.append(total)
        return real_bar(description, total, enabled)

    monkeypatch.setattr(engine_predict, "progress_bar", recording_bar)
    _images(tmp_path / "in", 5)
    stats = cli.run_predict(None, tmp_path / "w.pt", [str(tmp_path / "in")], "jsonl", str(tmp_path / "out.jsonl"),
                            None, 2, None, "torch", "cpu", 0, None)
    assert stats.inputs == 5 and seen == [5]


def test_bar_shows_rate() -> None:
    from rich.console import Console

    import cvkit.console as console

    assert console.rate_text(None) == "" and console.rate_text(12.345) == "12.3/s"
    assert console.rate_text(2500.0) == "2,500/s"
    buf = io.StringIO()
    monkey_err = Console(file=buf, force_terminal=True, width=120)
    old = console.err
    console.err = monkey_err
    try:
        import os

        os.environ["CVKIT_PROGRESS"] = "1"
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(console, "progress_shown", lambda *a: True)
            with console.progress_bar("predict", 10) as bar:
                bar.advance(4)
    finally:
        console.err = old
        os.environ["CVKIT_PROGRESS"] = "0"
    assert "4/10" in buf.getvalue()
