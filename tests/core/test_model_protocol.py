"""The small model protocol (cvkit.model), the per-call contract pieces the engine wires, and the import order."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

from cvkit import model as mp
from cvkit.task import Batch, PredictOptions, VisualizeRequest, supported_kwargs


class Declared(nn.Module):
    head_module = "classifier.1"
    backbone_modules = ("stem",)
    default_cfg = {"mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25), "input_size": (3, 8, 8)}

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.neck = nn.Conv2d(4, 4, 1)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(4 * 8 * 8, 2), nn.Linear(2, 2))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.neck(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x))


class Plain(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(6, 5)
        self.fc = nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.body(x)))


class OnePass(nn.Module):
    fitted_in_one_pass = True

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    def fit(self, batches) -> None:
        assert not torch.is_grad_enabled()
        self.seen = sum(len(b) for b in batches)


def test_declared_model_is_asked_not_guessed():
    m = Declared()
    assert mp.head(m)[0] == "classifier.1"  # not the last Linear, classifier.2
    assert [n for n, _ in mp.backbone(m)] == ["stem"]
    assert mp.freeze_backbone(m) == ["stem"]
    assert not any(p.requires_grad for p in m.stem.parameters())
    assert all(p.requires_grad for p in m.neck.parameters()) and all(p.requires_grad for p in m.classifier.parameters())
    assert mp.features(m, torch.zeros(2, 3, 8, 8)).shape == (2, 4)  # forward_features, pooled over space
    assert mp.input_config(m) == {"mean": (0.5,) * 3, "std": (0.25,) * 3, "input_size": (3, 8, 8)}


def test_fallbacks_and_wrappers():
    m = Plain()
    wrapped = nn.Module()
    wrapped.module = m  # what DistributedDataParallel looks like from outside
    assert mp.head(wrapped)[0] == "fc" and mp.backbone(m) == []
    mp.freeze_backbone(wrapped)  # no backbone declared: a linear probe
    assert [n for n, p in m.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    x = torch.randn(4, 6)
    assert torch.equal(mp.features(m, x), torch.relu(m.body(x)))  # the head's input
    assert mp.input_config(m) == {}
    torchvision_like = nn.Module()
    torchvision_like.net = nn.Module()
    torchvision_like.net.backbone = nn.Linear(2, 2)
    assert [n for n, _ in mp.backbone(torchvision_like)] == ["net.backbone"]


def test_one_pass_fitting_is_one_code_path():
    batches = [Batch(torch.zeros(3, 1), None, [0, 1, 2], [{}] * 3), Batch(torch.zeros(2, 1), None, [3, 4], [{}] * 2)]
    m = OnePass()
    assert mp.fitted_in_one_pass(m) and mp.fit_in_one_pass(m, batches) and m.seen == 5
    assert not mp.fit_in_one_pass(Plain(), iter(batches))


def test_plugins_declare_their_models():
    from cvkit.plugin import get_task
    from cvkit.task import DatasetInfo, ModelConfig

    info = DatasetInfo("t", "imagefolder", "", "train", ["a", "b"])
    knn = get_task("classify").build_model(ModelConfig("knn", 8), info)
    assert mp.fitted_in_one_pass(knn) and mp.features(knn, torch.zeros(2, 3, 8, 8)).shape == (2, 3 * 8 * 8)
    hog = get_task("detect").build_model(ModelConfig("hog-svm", 64), info)
    assert mp.fitted_in_one_pass(hog)


def test_newer_keywords_reach_only_methods_that_take_them():
    def old(model, batch):
        return None

    def new(model, batch, options=None):
        return None

    assert supported_kwargs(old, options=PredictOptions(conf=0.5)) == {}
    assert supported_kwargs(new, options=PredictOptions(conf=0.5)) == {"options": PredictOptions(conf=0.5)}


def test_task_scripts_are_visualize_kinds(tmp_path, monkeypatch):
    from cvkit.engine.visualize import run_visualize
    from cvkit.errors import UsageError
    from cvkit.plugin import get_task

    task = get_task("classify")
    seen: list[VisualizeRequest] = []

    def interpolate(request: VisualizeRequest):
        seen.append(request)
        out = request.out / "interp.png"
        out.write_bytes(b"png")
        return [out]

    monkeypatch.setattr(task, "scripts", lambda: {"interpolate": interpolate})
    paths = run_visualize("interpolate", ["a.png"], None, tmp_path, None, None, None, 3, None, False, None,
                          ["steps=5"], "cpu", "classify")
    assert paths == [tmp_path / "interp.png"] and seen[0].options == {"steps": "5"} and seen[0].limit == 3
    with pytest.raises(UsageError, match="interpolate"):
        run_visualize("nope", [], None, tmp_path, None, None, None, None, None, False, None, [], "cpu", "classify")


def test_metric_must_be_one_of_metric_names():
    from cvkit.engine.evaluate_cli import check_metric
    from cvkit.errors import UsageError
    from cvkit.plugin import get_task

    check_metric(get_task("detect"), "voc07-strict")
    with pytest.raises(UsageError, match="choose from coco, voc07"):
        check_metric(get_task("detect"), "voc2012")
    with pytest.raises(UsageError, match="single metric family"):
        check_metric(get_task("classify"), "top5")


def test_no_import_circle_between_task_engine_and_checkpoint():
    code = ("import cvkit.checkpoint, sys\n"
            "assert 'cvkit.engine.setup' not in sys.modules, 'checkpoint pulls the engine in'\n"
            "import cvkit.task\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
    import ast
    from pathlib import Path

    tree = ast.parse(Path(mp.__file__).with_name("task.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any(m.startswith(("cvkit.engine", "cvkit.checkpoint")) for m in imported)
