"""Attention rollout: the algebra on hand-built matrices, the weights the hooks capture, and the picture."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torchvision.models.vision_transformer import VisionTransformer

from cvkit.errors import UsageError
from cvkit.explain import KINDS, ExplainContext
from cvkit.explain.attention import attention_maps, cls_map, rollout


def test_rollout_of_uniform_attention():
    t = 5  # class token + 2x2 patches
    uniform = torch.full((1, 2, t, t), 1.0 / t)
    roll = rollout([uniform])
    assert torch.allclose(roll[0, 0], torch.tensor([0.5 + 0.1, 0.1, 0.1, 0.1, 0.1]))
    assert np.allclose(cls_map(roll), 0.1)
    two = rollout([uniform, uniform])
    a = 0.5 * np.full((t, t), 1 / t) + 0.5 * np.eye(t)
    assert np.allclose(two[0].numpy(), a @ a)


def test_rollout_order_fusion_and_discard():
    g = torch.Generator().manual_seed(0)
    w1 = torch.rand(1, 3, 5, 5, generator=g).softmax(-1)
    w2 = torch.rand(1, 3, 5, 5, generator=g).softmax(-1)

    def step(w: np.ndarray) -> np.ndarray:
        a = 0.5 * w + 0.5 * np.eye(5)
        return a / a.sum(-1, keepdims=True)

    expected = step(w2[0].mean(0).numpy()) @ step(w1[0].mean(0).numpy())  # later layers on the left
    assert np.allclose(rollout([w1, w2])[0].numpy(), expected, atol=1e-6)
    assert np.allclose(rollout([w1], "max")[0].numpy(), step(w1[0].amax(0).numpy()), atol=1e-6)
    kept = rollout([w1], discard_ratio=0.4)[0]  # the 2 weakest links of each row are cut (not the class token)
    assert int((kept == 0).sum()) >= 5 * 2 - 5
    with pytest.raises(UsageError):
        rollout([w1], "median")


def tiny_vit() -> VisionTransformer:
    torch.manual_seed(0)
    return VisionTransformer(image_size=16, patch_size=4, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32,
                             num_classes=3).eval()


def test_hooks_capture_the_layers_weights_and_change_nothing():
    model = tiny_vit()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        plain = model(x)
    weights, out = attention_maps(model, x)
    assert torch.equal(out, plain)
    assert len(weights) == 2 and weights[0].shape == (2, 2, 17, 17)
    block = model.encoder.layers[0]
    with torch.no_grad():
        tokens = model._process_input(x)
        tokens = torch.cat([model.class_token.expand(2, -1, -1), tokens], 1) + model.encoder.pos_embedding
        y = block.ln_1(tokens)
        ref = block.self_attention(y, y, y, need_weights=True, average_attn_weights=False)[1]
    assert torch.allclose(weights[0], ref)
    assert torch.allclose(weights[1].sum(-1), torch.ones(2, 2, 17))


def test_visualize_attention_writes_picture_and_numbers(tmp_path):
    model = tiny_vit()
    inputs = [("a.png", torch.randn(3, 16, 16)), ("b.png", torch.randn(3, 16, 16))]
    ctx = ExplainContext(model=model, out=tmp_path, classes=["x", "y", "z"], img_size=16, inputs=inputs)
    paths = KINDS["attention"](ctx)
    assert len(paths) == 4 and all(p.exists() for p in paths)
    numbers = json.loads(next(p for p in paths if p.suffix == ".json").read_text())
    assert numbers["layers"] == 2 and np.array(numbers["map"]).shape == (4, 4)
    assert numbers["predicted_name"] in ctx.classes


def test_models_without_attention_are_refused(tmp_path):
    ctx = ExplainContext(model=torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 2)), out=tmp_path,
                         inputs=[("a.png", torch.randn(3, 2, 2))])
    with pytest.raises(UsageError, match="Vision Transformer"):
        KINDS["attention"](ctx)
