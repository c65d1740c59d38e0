"""Every model builds, takes a training step and predicts on a tiny batch on CPU."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from cvkit.task import ModelConfig
from cvkit_detect.datasets.shapes import ShapesDataset
from cvkit_detect.models import TORCHVISION


@pytest.fixture(scope="module")
def raw(tmp_path_factory, task):
    out = tmp_path_factory.mktemp("shapes") / "coco"
    ShapesDataset().write(out, "coco", 16, seed=1)
    return task.formats()["coco"].load(out, "train", {})


def check_predictions(preds, n_classes, h=128, w=128):
    for p in preds:
        n = len(p["scores"])
        assert p["boxes"].shape == (n, 4) and p["labels"].shape == (n,) and p["labels"].dtype == torch.int64
        b = p["boxes"]
        assert torch.isfinite(b).all() and (b[:, 0] >= 0).all() and (b[:, 2] <= w).all() and (b[:, 3] <= h).all()
        assert (b[:, 2] >= b[:, 0]).all() and (b[:, 3] >= b[:, 1]).all()
        assert ((p["labels"] >= 0) & (p["labels"] < n_classes)).all()
        assert ((p["scores"] >= 0) & (p["scores"] <= 1)).all()


def step(task, raw, name, img_size=64, n=2):
    torch.manual_seed(0)
    cfg = ModelConfig(name, img_size)
    model = task.build_model(cfg, raw.info)
    batch = task.collate([task.dataset(raw, cfg, train=True)[i] for i in range(n)])
    assert batch.inputs.shape == (n, 3, img_size, img_size)
    model.train()
    out = task.train_step(model, batch)
    assert out["loss"].ndim == 0 and torch.isfinite(out["loss"])
    out["loss"].backward()
    model.eval()
    with torch.no_grad():
        preds = task.predict_step(model, task.collate([task.dataset(raw, cfg, train=False)[i] for i in range(n)]))
    assert len(preds) == n
    check_predictions(preds, len(raw.info.classes))
    return model, preds


@pytest.mark.parametrize("name", ["centernet", "yolo-grid"])
def test_own_models(task, raw, name):
    model, _ = step(task, raw, name)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_models(task, raw, name):
    step(task, raw, name)


def test_overfit_centernet_a_little(task, raw):
    # a few steps on one batch must lower the loss (the loss is wired to the outputs)
    torch.manual_seed(0)
    cfg = ModelConfig("centernet", 64)
    model = task.build_model(cfg, raw.info)
    batch = task.collate([task.dataset(raw, cfg, train=False)[i] for i in range(4)])
    opt = torch.optim.AdamW(model.parameters(), 2e-3)
    losses = []
    for _ in range(8):
        loss = task.train_step(model, batch)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_hog_svm_fit_predict_and_checkpoint(task, raw):
    cfg = ModelConfig("hog-svm", 128, args={"mine_images": 4})
    model = task.build_model(cfg, raw.info)
    ds = task.dataset(raw, cfg, train=False)
    batches = iter([task.collate([ds[i] for i in range(j, j + 8)]) for j in (0, 8)])
    assert task.fit(model, batches) is True and bool(model.fitted)
    assert model.sizes.min() > 0 and model.weight.abs().sum() > 0
    model.eval()
    batch = task.collate([ds[0], ds[1]])
    preds = task.predict_step(model, batch)
    check_predictions(preds, 3)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    clone = task.build_model(cfg, raw.info)
    clone.load_state_dict(torch.load(buf, weights_only=True))
    again = task.predict_step(clone.eval(), batch)
    for a, b in zip(preds, again, strict=True):
        assert torch.equal(a["boxes"], b["boxes"]) and torch.equal(a["scores"], b["scores"])


def test_hog_people_runs(task, raw, tmp_path):
    import cv2

    from cvkit.task import DatasetInfo

    # a dark upright figure on a light background: whatever it finds must be well-formed "person" boxes
    img = np.full((256, 192, 3), 220, np.uint8)
    cv2.ellipse(img, (96, 60), (14, 18), 0, 0, 360, (40, 40, 40), -1)
    cv2.rectangle(img, (76, 80), (116, 170), (40, 40, 40), -1)
    cv2.rectangle(img, (78, 170), (92, 236), (40, 40, 40), -1)
    cv2.rectangle(img, (100, 170), (114, 236), (40, 40, 40), -1)
    path = tmp_path / "figure.png"
    cv2.imwrite(str(path), img)
    info = DatasetInfo("people", "coco", "", "val", ["car", "person"])
    cfg = ModelConfig("hog-people", 256)
    model = task.build_model(cfg, info).eval()
    assert task.fit(model, iter([])) is True
    ds = task.predict_dataset([str(path)], cfg, info)
    preds = task.predict_step(model, task.collate([ds[0]]))
    check_predictions(preds, 2, h=256, w=192)
    assert (preds[0]["labels"] == 1).all()


@pytest.mark.parametrize("name", ["centernet", "yolo-grid"])
def test_own_models_return_raw_tensors_in_eval(task, raw, name):
    # eval-mode outputs are plain tensors (exportable); predict_step decodes them
    from torch.utils import _pytree as pytree

    model = task.build_model(ModelConfig(name, 64), raw.info).eval()
    with torch.no_grad():
        leaves = pytree.tree_leaves(model(task.example_input(model, (3, 64, 64))))
    assert leaves and all(isinstance(t, torch.Tensor) for t in leaves)
