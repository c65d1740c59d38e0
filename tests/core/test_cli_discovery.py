"""`cvkit models`, `cvkit tasks`, `train TASK --help` and typo hints, in process (no subprocess, no training)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from cvkit.cli import app
from cvkit.errors import UsageError
from cvkit.plugin import check_model_name, get_task


def run(*args: str, width: int = 80) -> str:
    result = CliRunner().invoke(app, list(args), terminal_width=width, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_model_typo_says_did_you_mean() -> None:
    with pytest.raises(UsageError, match=r"no model 'resnet81' \(did you mean resnet18"):
        check_model_name(get_task("classify"), "resnet81")


def test_task_typo_says_did_you_mean() -> None:
    with pytest.raises(UsageError, match=r"unknown task 'clasify' \(did you mean classify"):
        get_task("clasify")


def test_train_checks_the_model_name_before_reading_data() -> None:
    from cvkit.engine.config import TrainConfig
    from cvkit.engine.setup import apply_task_defaults

    cfg = TrainConfig(task="classify", model="resnet81", data="/nonexistent/folder")
    with pytest.raises(UsageError, match="did you mean resnet18"):
        apply_task_defaults(cfg, get_task("classify"))


def test_models_lists_without_building(monkeypatch: pytest.MonkeyPatch) -> None:
    task = get_task("classify")

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("listing must not build models")

    monkeypatch.setattr(task, "build_model", boom)
    out = run("models", "classify")
    lines = out.splitlines()
    assert lines[0] == "model"
    assert f"{task.default_model}*" in lines  # the default is marked
    assert "vit_h_14" in lines and "resnet18" in lines
    assert "default model" in lines[-2]
    assert lines[-1].startswith("defaults for train: ") and f"--model {task.default_model}" in lines[-1]


def test_models_filter_is_fnmatch() -> None:
    names = run("models", "classify", "--filter", "*resnet*").splitlines()[1:-2]
    assert names == sorted(n for n in names) and "resnet18" in names and "wide_resnet50_2" in names
    assert all("resnet" in n for n in names)


def test_models_params_on_meta_device_reports_unbuildable_rows() -> None:
    out = run("models", "classify", "--filter", "vit_h_14", "--params", "--filter", "vit_*")
    row = next(line for line in out.splitlines() if line.startswith("vit_h_14"))
    assert "not buildable at --img-size 32" in row and "Error" not in row
    assert re.search(r"^vit_b_16\s+85,658,890$", out, re.M)  # torchvision's ViT-B/16 at 32 px, 10 classes


def test_models_name_lists_model_args() -> None:
    out = run("models", "classify", "resnet18")
    assert re.search(r"^  zero_init_residual\s+False$", out, re.M)
    assert "block" not in out  # filled by the builder, not a --model-arg key


def test_tasks_does_not_truncate_model_names_at_80_columns() -> None:
    from cvkit.plugin import discover

    out = run("tasks", width=80)
    assert "…" not in out
    assert all(len(line) <= 80 for line in out.splitlines())
    words = set(out.replace(",", " ").split())
    for entry in discover().values():
        if entry.spec is not None:
            assert set(entry.spec.models) <= words, entry.name


def test_train_help_shows_the_task_defaults() -> None:
    task = get_task("classify")
    out = run("train", "classify", "--help", width=100)
    assert "defaults for classify" in out
    assert re.search(rf"--model\s+{task.default_model}$", out, re.M)
    assert re.search(rf"--epochs\s+{task.default_epochs}$", out, re.M)
    assert "defaults for" not in run("train", "--help", width=100)


def test_tasks_task_shows_defaults_and_only_that_task() -> None:
    out = run("tasks", "classify")
    assert out.startswith("defaults for classify")
    assert re.search(r"--img-size\s+32$", out, re.M)
    assert not re.search(r"^detect ", out, re.M)


def test_models_listing_is_cached_without_importing_the_task(monkeypatch: pytest.MonkeyPatch) -> None:
    import cvkit.cli.model_list as model_list
    import cvkit.plugin as plugin

    first = run("models", "classify")

    def no_import(name: str) -> None:
        raise AssertionError("a cached listing must not import the task")

    monkeypatch.setattr(plugin, "get_task", no_import)
    assert run("models", "classify") == first
    monkeypatch.setattr(model_list, "cache_key", lambda name: "another version")
    rebuilt = model_list.listing("classify")  # a stale cache is rebuilt, from the sources: still no task import
    assert rebuilt["key"] == "another version" and "resnet18" in rebuilt["names"]
    monkeypatch.setattr(model_list, "cache_key", lambda name: "a third version")
    monkeypatch.setattr(model_list, "static_listing", lambda name: None)
    with pytest.raises(AssertionError, match="must not import"):  # what the sources cannot tell, the task does
        model_list.listing("classify")
