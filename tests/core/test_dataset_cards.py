"""Dataset cards: an embedded dataset carries its recommended settings next to its files, so `builtin:NAME` and
`FORMAT:<the same files>` resolve to the same training options."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from cvkit.data import CARD_NAME, cache_dir, card_defaults, publish_builtin, read_card
from cvkit.engine.config import TrainConfig
from cvkit.engine.setup import apply_task_defaults
from cvkit.errors import CvkitError
from cvkit.plugin import get_task
from tests.conftest import cvkit

SAME = ("img_size", "model_args", "epochs", "batch_size", "lr", "optimizer", "weight_decay", "schedule",
        "warmup_epochs")


def resolved(task_name: str, data: str, model: str | None = None) -> dict:
    cfg = TrainConfig(task=task_name, data=data, model=model)
    apply_task_defaults(cfg, get_task(task_name))
    return {k: getattr(cfg, k) for k in SAME}


@pytest.mark.parametrize("task_name, name, models", [
    ("detect", "shapes", [None, "hog-people"]),
    ("segment", "shapes", [None]),
    ("instance", "shapes", [None]),
    ("pose", "stickmen", [None, "hourglass", "keypoint-rcnn"]),
    ("video", "motion", [None]),
])
def test_builtin_and_the_same_files_resolve_alike(tmp_path, task_name, name, models):
    task = get_task(task_name)
    builtin = task.builtins()[name]
    # the cache entry builtin:NAME resolves to, small, and a copy written like `cvkit data make` does
    publish_builtin(builtin, cache_dir() / "datasets" / task_name / f"{name}-seed0", builtin.formats[0], 2, 0,
                    task_name)
    spec = publish_builtin(builtin, tmp_path / "made", builtin.formats[0], 2, 0, task_name)
    assert (tmp_path / "made" / CARD_NAME).is_file() and not [p for p in tmp_path.iterdir() if p.name != "made"]
    for model in models:
        via_builtin = resolved(task_name, f"builtin:{name}", model)
        assert resolved(task_name, spec, model) == via_builtin
        plain = tmp_path / "plain"  # the same files without their card: the task's own defaults
        if not plain.exists():
            import shutil

            shutil.copytree(tmp_path / "made", plain)
            (plain / CARD_NAME).unlink()
        if builtin.card().get("defaults") or (model and model in builtin.card().get("models", {})):
            fmt, _, path = spec.partition(":")
            assert resolved(task_name, f"{fmt}:{plain / os.path.relpath(path, tmp_path / 'made')}", model) \
                != via_builtin


def test_pose_card_picks_the_model_entry():
    card = get_task("pose").builtins()["stickmen"].card()
    assert card_defaults(card, "simple-baseline")["model_args"] == {"stride": 2, "sigma": 1.0}
    assert card_defaults(card, "hourglass")["model_args"]["channels"] == 32
    assert card_defaults(card, "keypoint-rcnn") == {"img_size": 128, "epochs": 6, "batch_size": 8, "lr": 1e-3}


def test_card_is_found_from_a_sub_folder_and_bad_cards_are_named(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / CARD_NAME).write_text(json.dumps({"defaults": {"img_size": 7}}))
    assert read_card(tmp_path / "a" / "b")["defaults"] == {"img_size": 7}
    (tmp_path / "a" / CARD_NAME).write_text("{not json")
    with pytest.raises(CvkitError, match="not a readable dataset card"):
        read_card(tmp_path / "a" / "b")


def test_publish_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(CvkitError, match="not empty"):
        publish_builtin(get_task("classify").builtins()["digits"], tmp_path / "out", "imagefolder", 20, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]


def test_data_make_then_train_writes_the_builtins_config(tmp_path):
    made = cvkit("data", "make", "digits", "--out", str(tmp_path / "D"), check=True).stdout.strip()
    assert made == f"imagefolder:{tmp_path / 'D'}"
    configs = {}
    for key, data in (("made", made), ("builtin", "builtin:digits")):
        out = tmp_path / key
        cvkit("train", "classify", "--data", data, "--model", "softmax", "--epochs", "1", "--out", str(out),
              check=True)
        configs[key] = yaml.safe_load((out / "config.yaml").read_text())
    assert configs["made"]["img_size"] == configs["builtin"]["img_size"] == 16
    assert configs["made"]["model_args"] == configs["builtin"]["model_args"] == {"augment": "none"}
    differ = {k for k in configs["made"] if configs["made"][k] != configs["builtin"][k]}
    assert differ == {"data", "out"}


def test_a_cached_builtin_is_written_again_when_its_generator_version_changes(tmp_path, monkeypatch):
    from cvkit.contract import BuiltinDataset
    from cvkit.data import materialize_builtin

    class Numbers(BuiltinDataset):
        name, formats, version = "numbers", ("imagefolder",), 1
        content = "one"

        def write(self, out, fmt, size, seed):
            (out / "train").mkdir()
            (out / "train" / "v.txt").write_text(self.content)
            return f"imagefolder:{out}"

    monkeypatch.setenv("CVKIT_CACHE", str(tmp_path / "cache"))
    task = get_task("classify")
    builtin = Numbers()
    monkeypatch.setattr(type(task), "builtins", lambda self: {"numbers": builtin})
    first = materialize_builtin(task, "numbers")
    folder = first.split(":", 1)[1]
    assert open(f"{folder}/train/v.txt").read() == "one" and read_card(folder)["version"] == 1
    builtin.content = "two"  # the generator changed but says nothing: the cached copy stays (written once)
    assert materialize_builtin(task, "numbers") == first and open(f"{folder}/train/v.txt").read() == "one"
    builtin.version = 2  # ... and says so: written again, in the same place
    assert materialize_builtin(task, "numbers") == first and open(f"{folder}/train/v.txt").read() == "two"
    assert read_card(folder)["version"] == 2
    card = json.loads((cache_dir() / "datasets" / "classify" / "numbers-seed0" / CARD_NAME).read_text())
    del card["version"]  # a copy from before versions counts as version 1
    (cache_dir() / "datasets" / "classify" / "numbers-seed0" / CARD_NAME).write_text(json.dumps(card))
    builtin.version, builtin.content = 1, "three"
    assert materialize_builtin(task, "numbers") == first and open(f"{folder}/train/v.txt").read() == "two"
