"""--pretrained PATH: state-dict files downloaded elsewhere (torchvision, timm, DDP, wrapped), with a report."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from cvkit.cli.train import pretrained_args
from cvkit.engine.pretrained import load_pretrained, read_state_dict
from cvkit.errors import CvkitError


class Net(nn.Module):
    """A small torchvision-like classifier: a trunk and an ``fc`` head."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3)
        self.bn1 = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, classes)


class Detector(nn.Module):
    """The same trunk one level down, as a detector holds its backbone."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Module()
        self.backbone.body = Net(3)
        self.head = nn.Linear(4, 2)


def _source(seed: int = 1) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    net = Net(1000)
    net.bn1.running_mean.uniform_()
    return net.state_dict()


def test_matching_tensors_load_and_the_resized_head_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "resnet_like.pth"
    state = _source()
    torch.save(state, path)
    torch.manual_seed(2)
    model = Net(10)
    head_before = model.fc.weight.clone()
    report = load_pretrained(model, path)
    own = model.state_dict()
    for k in ("conv1.weight", "conv1.bias", "bn1.weight", "bn1.running_mean", "bn1.num_batches_tracked"):
        assert torch.equal(own[k], state[k]), k
    assert torch.equal(model.fc.weight, head_before)  # 1,000-class head: kept as built
    assert len(report.loaded) == 7 and report.total == 9
    assert [m[0] for m in report.mismatched] == ["fc.weight", "fc.bias"]
    line = report.line(path)
    assert line == (f"--pretrained {path}: loaded 7 of the model's 9 tensors; shape differs (kept as built): "
                    "fc.weight [1000, 4] vs [10, 4], fc.bias [1000] vs [10]")


@pytest.mark.parametrize("wrap", ["state_dict", "model", "ddp"])
def test_training_checkpoints_and_ddp_prefixes_are_unwrapped(tmp_path: Path, wrap: str) -> None:
    state = _source()
    if wrap == "ddp":
        doc = {f"module.{k}": v for k, v in state.items()}
    else:  # timm's train.py / torchvision's reference scripts keep the weights beside the optimizer and args
        doc = {wrap: state, "epoch": 3, "args": {"lr": 0.1}, "optimizer": {"state": {}}}
    torch.save(doc, tmp_path / "w.pth")
    assert read_state_dict(tmp_path / "w.pth").keys() == state.keys()


def test_a_backbone_file_finds_the_model_prefix(tmp_path: Path) -> None:
    state = _source()
    torch.save(state, tmp_path / "trunk.pth")
    det = Detector()
    report = load_pretrained(det, tmp_path / "trunk.pth")
    assert torch.equal(det.backbone.body.conv1.weight, state["conv1.weight"])
    assert len(report.loaded) == 7 and report.missing == ["head.weight", "head.bias"]
    assert "not in the file: head.weight, head.bias" in report.line("trunk.pth")


def test_unused_file_tensors_are_listed(tmp_path: Path) -> None:
    state = {**_source(), "extra.weight": torch.zeros(2), "aux.fc.bias": torch.zeros(3)}
    torch.save(state, tmp_path / "w.pt")
    report = load_pretrained(Net(1000), tmp_path / "w.pt")
    assert len(report.loaded) == 9 and sorted(report.unexpected) == ["aux.fc.bias", "extra.weight"]


class Hostile:
    def __reduce__(self):
        return (print, ("ran",))


@pytest.mark.parametrize("content, reason", [
    (b"not a torch file at all", "not a readable weights file"),
    ("hostile", "refused: not a plain state dict"),
    ({"epoch": 3, "args": "x"}, "holds no state dict"),
    ({"fc.weight": torch.zeros(7, 7, 7)}, "no tensor fits the model"),
])
def test_bad_files_give_one_line_naming_them(tmp_path: Path, content, reason: str) -> None:
    path = tmp_path / "bad.pth"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(Hostile() if content == "hostile" else content, path)
    with pytest.raises(CvkitError) as err:
        load_pretrained(Net(10), path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and reason in message and "\n" not in message


def test_missing_file_and_safetensors_without_the_package(tmp_path: Path) -> None:
    with pytest.raises(CvkitError, match="no such weights file"):
        read_state_dict(tmp_path / "nope.pth")
    st = tmp_path / "w.safetensors"
    st.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    try:
        import safetensors  # noqa: F401
    except ImportError:
        with pytest.raises(CvkitError, match=r"w\.safetensors: reading \.safetensors files needs the safetensors"):
            read_state_dict(st)
    else:
        with pytest.raises(CvkitError, match="w.safetensors"):
            read_state_dict(st)


def test_bare_flag_and_path_forms_on_the_command_line(tmp_path: Path) -> None:
    weights = tmp_path / "weights"  # an existing file without a weights suffix is still a PATH
    weights.write_bytes(b"")
    assert pretrained_args(["classify", "--pretrained"]) == ["classify", "--pretrained="]
    assert pretrained_args(["classify", "--pretrained", "--epochs", "2"]) == ["classify", "--pretrained=",
                                                                              "--epochs", "2"]
    assert pretrained_args(["--pretrained", "classify"]) == ["--pretrained=", "classify"]
    assert pretrained_args(["classify", "--pretrained", "r18.pth"]) == ["classify", "--pretrained=r18.pth"]
    assert pretrained_args(["classify", "--pretrained", str(weights)]) == ["classify", f"--pretrained={weights}"]
    assert pretrained_args(["classify", "--pretrained=x.bin"]) == ["classify", "--pretrained=x.bin"]


def test_train_starts_from_the_file_and_reports_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from cvkit.engine import train as engine
    from cvkit.engine.config import TrainConfig

    def cfg(**kw) -> TrainConfig:
        return TrainConfig(task="classify", data="builtin:digits", model="sample-cnn", img_size=8, epochs=1,
                           out=str(tmp_path / "run"), exist_ok=True, **kw)

    donor = engine.prepare(cfg(seed=5), set()).module.state_dict()
    head = list(donor)[-2:]  # the final Linear's weight and bias, left out of the file
    donor = {k: v for k, v in donor.items() if k not in head}
    torch.save({"model": donor, "epoch": 90}, tmp_path / "trunk.pth")
    run = engine.prepare(cfg(pretrained=str(tmp_path / "trunk.pth")), set())
    got = run.module.state_dict()
    assert all(torch.equal(got[k], v) for k, v in donor.items())
    err = capsys.readouterr().err
    assert f"--pretrained {tmp_path / 'trunk.pth'}: loaded 4 of the model's 6 tensors; not in the file: " \
           f"{head[0]}, {head[1]}" in err
    assert run.model_cfg.pretrained is False and run.cfg.pretrained == str(tmp_path / "trunk.pth")
