"""export: ONNX and TorchScript files that carry their metadata and compute what the eager model computes."""

from __future__ import annotations

import json

import cv2
import numpy as np
import onnx
import pytest
import torch

from cvkit.backends import load_exported, open_exported, read_metadata
from cvkit.checkpoint import Checkpoint, load_model, save_checkpoint
from cvkit.errors import CvkitError
from cvkit.export import export
from cvkit.plugin import get_task
from cvkit.task import Batch, DatasetInfo, ModelConfig

torch.set_num_threads(1)
CLASSES = ["cat", "dog", "owl"]


@pytest.fixture(scope="module")
def imagefolder(tmp_path_factory):
    """A real ImageFolder tree with split folders: root/{train,val}/<class>/<n>.png."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for c in CLASSES:
            (root / split / c).mkdir(parents=True)
            for n in range(2):
                cv2.imwrite(str(root / split / c / f"{n}.png"), rng.integers(0, 255, (20, 24, 3), dtype=np.uint8))
    return root


def make_checkpoint(path, name, img_size, data_root):
    """A checkpoint of ``name`` with weights and norm statistics jittered, so outputs are far from trivial."""
    task = get_task("classify")
    info = DatasetInfo("toy", "imagefolder", f"imagefolder:{data_root}", "train", list(CLASSES))
    config = ModelConfig(name, img_size)
    model = task.build_model(config, info)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for key, t in model.state_dict().items():
            if t.is_floating_point():
                noise = torch.randn(t.shape, generator=gen) * 0.05
                t.copy_((t + noise).abs() + 0.5 if "running_var" in key else t + noise)
    save_checkpoint(Checkpoint("classify", config, info, model.state_dict()), path)
    return path


@pytest.mark.parametrize("name, img_size, fmt, dynamic", [
    ("softmax", 16, "onnx", False), ("softmax", 16, "torchscript", False),
    ("sample-cnn", 16, "onnx", True), ("sample-cnn", 16, "torchscript", False),
    ("resnet18", 32, "onnx", True), ("resnet18", 32, "torchscript", False),
    ("mobilenet_v3_small", 32, "onnx", False), ("mobilenet_v3_small", 32, "torchscript", False),
])
def test_verified_round_trip(tmp_path, imagefolder, name, img_size, fmt, dynamic):
    ckpt = make_checkpoint(tmp_path / "best.pt", name, img_size, imagefolder)
    result = export(ckpt, fmt, dynamic_batch=dynamic)
    suffix = ".onnx" if fmt == "onnx" else ".torchscript"
    assert result.path == tmp_path / f"best{suffix}" and result.path.stat().st_size == result.bytes
    v = result.verification
    assert v.passed and v.batch_size == 3 and v.max_abs_diff < 1e-4 and v.top1_agreement == 1.0
    assert v.data.startswith("3 val image(s) of imagefolder:")

    # the file stands alone: metadata gives task, classes, input size, normalisation
    meta = read_metadata(result.path)
    assert (meta.task, meta.info.classes, meta.model.name, meta.model.img_size) == ("classify", CLASSES, name,
                                                                                       img_size)
    assert meta.input_size == (3, img_size, img_size) and meta.batch_size == (None if dynamic else 1)
    assert meta.model.mean == (0.485, 0.456, 0.406)

    # the runner returns what the eager model returns, for a batch size that was never exported
    task, runner, config, info = load_exported(result.path)
    _, eager, _ = load_model(ckpt)
    x = torch.randn(5, 3, img_size, img_size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected, got = eager(x), runner(x)
    assert got.shape == expected.shape == (5, 3)
    assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4)
    assert task.name == "classify" and config.img_size == img_size and info.classes == CLASSES


def test_onnx_metadata_props_and_dynamic_axis(tmp_path, imagefolder):
    ckpt = make_checkpoint(tmp_path / "m.pt", "sample-cnn", 16, imagefolder)
    out = export(ckpt, "onnx", tmp_path / "out" / "model.onnx", opset=13, dynamic_batch=True).path
    proto = onnx.load(str(out))
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["task"] == "classify" and json.loads(props["classes"]) == CLASSES
    doc = json.loads(props["cvkit.json"])
    assert doc["model"]["img_size"] == 16 and doc["dataset"]["classes"] == CLASSES and doc["opset"] == 13
    assert proto.opset_import[0].version == 13
    dim0 = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert dim0.dim_param == "batch"  # dynamic batch axis


def test_failed_verification_writes_nothing(tmp_path, imagefolder, monkeypatch, capsys):
    import cvkit.export as ex

    ckpt = make_checkpoint(tmp_path / "m.pt", "softmax", 16, imagefolder)
    real = ex._to_torchscript

    def wrong(model, example, meta):  # an exporter bug: the graph computes something else
        return real(torch.nn.Sequential(model, torch.nn.Hardtanh(-0.5, 0.5)), example, meta)

    monkeypatch.setattr(ex, "_to_torchscript", wrong)
    with pytest.raises(CvkitError, match="not written: the exported model differs"):
        export(ckpt, "torchscript")
    assert not (tmp_path / "m.torchscript").exists()
    code, out, err = run_cli(capsys, "export", "--weights", str(ckpt), "--format", "torchscript")
    assert code == 1 and err.startswith("error: ") and "--no-verify" in err
    code, out, err = run_cli(capsys, "export", "--weights", str(ckpt), "--format", "torchscript", "--no-verify")
    assert code in (0, None) and out.strip() == str(tmp_path / "m.torchscript") and "not verified" in err


def test_random_inputs_when_no_dataset_is_readable(tmp_path, imagefolder, monkeypatch):
    import cvkit.data

    def unreadable(*args, **kwargs):
        raise CvkitError("gone")

    monkeypatch.setattr(cvkit.data, "load_split", unreadable)
    ckpt = make_checkpoint(tmp_path / "m.pt", "sample-cnn", 16, imagefolder)
    v = export(ckpt, "onnx").verification
    assert v.passed and v.data.startswith("random normalised inputs")


def test_knn_exports_as_a_tensor_program(tmp_path, imagefolder):
    torch.manual_seed(0)  # the bank is random: without a seed, a near tie between two neighbours made it flaky
    task = get_task("classify")
    info = DatasetInfo("toy", "imagefolder", f"imagefolder:{imagefolder}", "train", list(CLASSES))
    config = ModelConfig("knn", 16)
    model = task.build_model(config, info)
    batch = Batch(torch.randn(6, 3, 16, 16), torch.tensor([0, 1, 2, 0, 1, 2]), list(range(6)), [{}] * 6)
    assert task.fit(model, iter([batch])) and model.bank.shape == (6, 3 * 16 * 16)
    save_checkpoint(Checkpoint("classify", config, info, model.state_dict()), tmp_path / "knn.pt")
    result = export(tmp_path / "knn.pt", "onnx", dynamic_batch=True)
    assert result.verification.passed and result.verification.top1_agreement == 1.0


def test_fixed_batch_runner_chunks_and_pads(tmp_path, imagefolder):
    ckpt = make_checkpoint(tmp_path / "m.pt", "mlp", 16, imagefolder)
    path = export(ckpt, "onnx", verify=False).path
    runner = open_exported(path)
    assert runner.meta.batch_size == 1
    _, eager, _ = load_model(ckpt)
    x = torch.randn(4, 3, 16, 16)
    assert torch.allclose(runner(x), eager(x), atol=1e-5)
    with pytest.raises(CvkitError, match="exported for inputs of shape"):
        runner(torch.randn(2, 3, 8, 8))


def test_cli_json_and_bad_files(tmp_path, imagefolder, capsys):
    ckpt = make_checkpoint(tmp_path / "m.pt", "softmax", 16, imagefolder)
    code, out, err = run_cli(capsys, "export", "--weights", str(ckpt), "--format", "onnx", "--json")
    doc = json.loads(out)
    assert code in (0, None) and doc["verification"]["passed"] and doc["path"].endswith("m.onnx")
    assert "max |diff|" in err and "top-1 agreement 100.0%" in err
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(CvkitError, match="junk.onnx: not a readable ONNX model"):
        open_exported(tmp_path / "junk.onnx")
    code, _, err = run_cli(capsys, "export", "--weights", str(tmp_path / "nope.pt"), "--format", "onnx")
    assert code == 1 and "nope.pt" in err


def run_cli(capsys, *args):
    from cvkit.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.mark.bench
def test_onnxruntime_vs_eager_throughput(tmp_path, imagefolder):
    """ResNet-18 at 224, batch 16, CPU: onnxruntime and eager in the same process, same thread count."""
    import os
    import time

    threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    ckpt = make_checkpoint(tmp_path / "r18.pt", "resnet18", 224, imagefolder)
    path = export(ckpt, "onnx", dynamic_batch=True).path
    _, runner, _, _ = load_exported(path, threads=threads)
    _, eager, _ = load_model(ckpt)
    x = torch.randn(16, 3, 224, 224)
    rates: dict[str, list[float]] = {"eager": [], "onnxruntime": []}
    with torch.no_grad():
        for model in (eager, runner):  # warm-up
            model(x)
        for _ in range(5):  # interleaved, so both see the same machine load
            for name, model in (("eager", eager), ("onnxruntime", runner)):
                start = time.perf_counter()
                model(x)
                rates[name].append(16 / (time.perf_counter() - start))
        diff = float((runner(x) - eager(x)).abs().max())
    best = {k: max(v) for k, v in rates.items()}
    print(f"\nresnet18@224 batch 16, {threads} threads: eager {best['eager']:.1f} img/s, onnxruntime "
          f"{best['onnxruntime']:.1f} img/s (best of 5; medians {sorted(rates['eager'])[2]:.1f} / "
          f"{sorted(rates['onnxruntime'])[2]:.1f}); max |diff| {diff:.2g}")
    torch.set_num_threads(1)
    assert diff < 1e-3
