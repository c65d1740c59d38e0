"""Every model builds, takes a training step (batch 2 and batch 1, with an image without objects) and predicts
masks in original image pixels."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cvkit.task import Batch, DatasetInfo, ModelConfig
from cvkit_instance.models import MODELS

INFO = DatasetInfo("t", "coco", "coco:t", "train", ["a", "b"])


def target(seed: int, size: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    masks = torch.zeros(2, size, size, dtype=torch.uint8)
    boxes = []
    for k in range(2):
        x, y = (int(v) for v in torch.randint(0, size // 2, (2,), generator=g))
        s = int(torch.randint(5, size // 2, (1,), generator=g))
        masks[k, y : y + s, x : x + s] = 1
        boxes.append([x, y, x + s, y + s])
    return {"boxes": torch.tensor(boxes, dtype=torch.float32), "labels": torch.tensor([0, 1]), "masks": masks}


def batch(n: int, size: int, empty: bool = False, sizes=None) -> Batch:
    targets = [target(i, size) for i in range(n)]
    if empty:
        targets[-1] = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64),
                       "masks": torch.zeros(0, size, size, dtype=torch.uint8)}
    sizes = sizes or [(size, size)] * n
    meta = [{"source": f"{i}.jpg", "orig_size": s, "input_size": (size, size)} for i, s in enumerate(sizes)]
    return Batch(torch.randn(n, 3, size, size), targets, list(range(n)), meta)


FAST = {"box_batch_size_per_image": 16, "box_detections_per_img": 5, "rpn_post_nms_top_n_test": 20}


@pytest.mark.parametrize("name", MODELS)
def test_model(task, name):
    torch.manual_seed(0)
    size = 32
    model = task.build_model(ModelConfig(name, size, FAST), INFO)
    model.train()
    for n, empty in ((2, True), (1, False)):
        out = task.train_step(model, batch(n, size, empty))
        assert math.isfinite(float(out["loss"].detach())) and {"loss_mask", "loss_classifier"} <= set(out)
        out["loss"].backward()
    model.eval()
    with torch.no_grad():
        preds = task.predict_step(model, batch(2, size, sizes=[(size, size), (20, 45)]))
    for p, (h, w) in zip(preds, [(size, size), (20, 45)], strict=True):
        n = len(p["scores"])
        assert p["boxes"].shape == (n, 4) and len(p["masks"]) == n and p["labels"].dtype == torch.int64
        assert all(m["size"] == [h, w] and isinstance(m["counts"], str) for m in p["masks"])
        assert ((p["labels"] >= 0) & (p["labels"] < 2)).all() and (p["boxes"][:, 2] <= w).all()


def test_small_model_sizes_follow_the_input(task):
    model = task.build_model(ModelConfig("maskrcnn-small", 96), INFO)
    net = model.net
    assert net.transform.min_size == (96,) and net.transform.max_size == 96
    assert [s[0] for s in net.rpn.anchor_generator.sizes] == [12.0, 24.0, 48.0, 96.0]
    assert sum(p.numel() for p in model.parameters()) < 3_000_000
    assert np.allclose(net.transform.image_mean, 0) and np.allclose(net.transform.image_std, 1)


def test_freeze_backbone_keeps_fpn_and_heads(task):
    model = task.build_model(ModelConfig("maskrcnn-small", 64), INFO)
    task.freeze_backbone(model)
    net = model.net
    assert not any(p.requires_grad for p in net.backbone.stem.parameters())
    assert all(p.requires_grad for m in (net.backbone.fpn, net.rpn, net.roi_heads) for p in m.parameters())
