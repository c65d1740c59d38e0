"""export: a model that cannot become a graph is refused with its name and the reason, nothing written."""

from __future__ import annotations

import pytest
from torch import nn

from cvkit.checkpoint import Checkpoint, save_checkpoint
from cvkit.errors import CvkitError
from cvkit.export import export
from cvkit.model import export_refusal
from cvkit.plugin import get_task
from cvkit.task import DatasetInfo, ModelConfig
from tests.conftest import cvkit


@pytest.mark.parametrize("name", ["hog-svm", "hog-people"])
def test_hog_detectors_are_refused_by_name(tmp_path, name):
    task = get_task("detect")
    info = DatasetInfo("toy", "coco", "", "train", ["person"])
    config = ModelConfig(name, 64)
    model = task.build_model(config, info)
    assert export_refusal(model)
    ckpt = tmp_path / "hog.pt"
    save_checkpoint(Checkpoint("detect", config, info, model.state_dict()), ckpt)
    proc = cvkit("export", "--weights", str(ckpt), "--format", "onnx")
    assert proc.returncode == 1
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("error:") and f"{name!r} cannot be exported" in line and "OpenCV" in line
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "hog.onnx").exists()


def test_a_model_failing_on_the_example_batch_is_named(tmp_path, monkeypatch):
    class Broken(nn.Module):
        def forward(self, x):
            return [][0]  # what an untraceable forward pass looks like from outside

    from cvkit import checkpoint

    info = DatasetInfo("toy", "imagefolder", "", "train", ["a", "b"])
    ckpt = tmp_path / "m.pt"
    task = get_task("classify")
    config = ModelConfig("softmax", 8)
    save_checkpoint(Checkpoint("classify", config, info, task.build_model(config, info).state_dict()), ckpt)
    loaded = (task, Broken(), checkpoint.load_checkpoint(ckpt))
    monkeypatch.setattr(checkpoint, "load_model", lambda *a, **k: loaded)
    with pytest.raises(CvkitError, match=r"'softmax' cannot be exported: it fails on an example batch .*IndexError"):
        export(ckpt, "onnx")
