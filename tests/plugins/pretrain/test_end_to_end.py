"""Through the CLI: train and eval, hand-over of the encoder to classify, colourised predictions written only
where asked, latent interpolation pictures."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cvkit.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from cvkit.data import load_split
from cvkit.plugin import get_task
from cvkit.task import ModelConfig
from tests.conftest import cvkit

from .fixtures import make_imagefolder


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_imagefolder(tmp_path_factory.mktemp("folder"), {"train": 4, "val": 2})


def checkpoint(data: Path, method: str, out: Path, args: dict | None = None, img: int = 32) -> Path:
    """An untrained checkpoint of ``method`` (what `cvkit train` would save after zero steps)."""
    task = get_task("pretrain")
    raw = load_split(task, f"imagefolder:{data}", "train")
    cfg = ModelConfig(method, img, dict(args or {}), task.mean, task.std)
    torch.manual_seed(1)
    model = task.build_model(cfg, raw.info)
    save_checkpoint(Checkpoint("pretrain", cfg, raw.info, model.state_dict()), out)
    return out


def test_train_then_eval_json(data: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    cvkit("train", "pretrain", "--data", f"imagefolder:{data}", "--model", "rotation", "--epochs", "1",
          "--batch-size", "8", "--out", str(run), check=True)
    doc = json.loads(cvkit("eval", "--weights", str(run / "best.pt"), "--json", check=True).stdout)
    assert doc["task"] == "pretrain" and doc["primary"] == "knn_top1"
    for name in ("probe_top1", "probe10_top1", "knn_top1", "knn10_top1", "random_probe_top1",
                 "random_probe10_top1", "random_knn_top1", "random_knn10_top1"):
        assert 0.0 <= doc["metrics"][name] <= 1.0
    assert doc["metrics"]["num_fit"] == 8 and doc["metrics"]["num_scored"] == 4


@pytest.mark.parametrize(("encoder", "classifier", "img"), [
    ({}, ModelConfig("resnet18", 32), 32),
    ({"encoder": "sample-cnn-gap", "channels": 12}, ModelConfig("sample-cnn-gap", 32, {"channels": 12}), 32),
    ({"encoder": "sample-cnn-gap", "channels": 8}, ModelConfig("sample-cnn-gap", 64, {"channels": 8}), 64),
])
def test_classify_starts_from_the_pretrained_encoder(data: Path, tmp_path: Path, encoder: dict,
                                                     classifier: ModelConfig, img: int) -> None:
    from cvkit.engine.setup import init_weights_from

    ckpt = checkpoint(data, "simclr", tmp_path / "simclr.pt", encoder, img)
    classify = get_task("classify")
    info = load_split(classify, f"imagefolder:{data}", "train").info
    torch.manual_seed(2)
    model = classify.build_model(classifier, info)
    init_weights_from(model, str(ckpt))
    encoder_sd = {k.removeprefix("backbone."): v for k, v in load_checkpoint(ckpt).state_dict.items()
                  if k.startswith("backbone.")}
    own = model.state_dict()
    head = {"fc.weight", "fc.bias"} if classifier.name == "resnet18" else {f"{len(model) - 1}.weight",
                                                                            f"{len(model) - 1}.bias"}
    assert set(own) - set(encoder_sd) == head  # every tensor but the new head
    assert set(encoder_sd) <= set(own)
    for name, value in encoder_sd.items():
        assert torch.equal(own[name], value), name


def test_predict_writes_colourised_images_only_where_asked(data: Path, tmp_path: Path) -> None:
    ckpt = checkpoint(data, "colorize", tmp_path / "colorize.pt")
    image = sorted((data / "val" / "disc").glob("*.png"))[0]
    vis = tmp_path / "vis"
    proc = cvkit("predict", "--weights", str(ckpt), str(image), "--save-vis", str(vis), cwd=tmp_path, check=True)
    record = json.loads(proc.stdout.splitlines()[0])
    assert len(record["embedding"]) == 512
    written = sorted(p for p in vis.rglob("*") if p.is_file())
    assert len(written) == 1
    out = cv2.cvtColor(cv2.imread(str(written[0])), cv2.COLOR_BGR2RGB)
    src = cv2.cvtColor(cv2.imread(str(image)), cv2.COLOR_BGR2RGB)
    assert out.shape == src.shape
    lightness = [cv2.cvtColor(a.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)[..., 0] for a in (out, src)]
    assert np.abs(lightness[0] - lightness[1]).mean() < 3.0  # the image's own lightness, new colours
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["colorize.pt", "vis"])


def test_visualize_interpolate(data: Path, tmp_path: Path) -> None:
    from cvkit.engine.visualize import run_visualize
    from cvkit.errors import UsageError

    ckpt = checkpoint(data, "autoencoder", tmp_path / "ae.pt")
    images = [str(p) for p in sorted((data / "val").rglob("*.png"))[:2]]

    def visualize(weights: Path, out: Path) -> list[Path]:
        return run_visualize("interpolate", images, weights, out, None, None, None, None, None, False, None,
                             ["steps=5"], "cpu")

    png = visualize(ckpt, tmp_path / "v")[0]
    assert png.suffix == ".png" and cv2.imread(str(png)).shape[1] > 5 * 32
    doc = json.loads(png.with_suffix(".json").read_text())
    assert doc["t"] == [0.0, 0.25, 0.5, 0.75, 1.0] and doc["from"] == images[0]
    with pytest.raises(UsageError, match="autoencoder"):
        visualize(checkpoint(data, "rotation", tmp_path / "r.pt"), tmp_path / "w")


def test_patch_neighbors_retrieves_the_query_itself_first(data: Path, tmp_path: Path) -> None:
    from cvkit.task import VisualizeRequest
    from cvkit_pretrain.scripts import patch_neighbors

    ckpt = checkpoint(data, "relpos", tmp_path / "relpos.pt")
    request = VisualizeRequest("patch-neighbors", tmp_path / "v", weights=ckpt, data=f"imagefolder:{data}",
                               split="train", limit=3, options={"k": "2"}, device="cpu")
    png, sidecar = patch_neighbors(request)
    doc = json.loads(sidecar.read_text())
    assert png.is_file() and len(doc["queries"]) == 3
    # queries come from the searched images here, so each one's best match is its own patch (cosine 1)
    assert all(row[0] == pytest.approx(1.0, abs=1e-4) for row in doc["similarity"])
