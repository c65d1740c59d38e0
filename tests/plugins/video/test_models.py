"""Every video model builds, takes (N, C, T, H, W) clips and returns logits; the options change what they should."""

from __future__ import annotations

import pytest
import torch

from cvkit.errors import CvkitError, UsageError
from cvkit_video import models
from cvkit_video.models.c3d import NonLocalBlock

OWN = ["single", "early", "late", "slow", "lrcn", "c3d", "flow", "two-stream"]


@pytest.mark.parametrize("name", OWN)
def test_own_models_shapes_and_sizes(name):
    torch.manual_seed(0)
    model = models.build(name, 8, 32, {"frames": 8}, False)
    c, t = model.clip_shape
    assert c == {"flow": 2, "two-stream": 5}.get(name, 3) and t == 8
    x = torch.randn(2, c, t, 32, 32)
    model.eval()
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 8) and torch.isfinite(y).all()
    assert 40_000 < sum(p.numel() for p in model.parameters()) < 250_000  # small, fast defaults
    model.train()
    out = model(x)
    if name == "two-stream":  # one set of logits per stream for one loss each
        assert isinstance(out, tuple) and [o.shape for o in out] == [(2, 8), (2, 8)]
        with torch.no_grad():
            model.eval()
            fused = model(x).softmax(1)
            a, b = model.stream_logits(x)
        torch.testing.assert_close(fused, (a.softmax(1) + b.softmax(1)) / 2)
    else:
        assert out.shape == (2, 8)


def test_single_frame_ignores_frame_order_and_motion_models_do_not():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 32, 32)
    perm = torch.randperm(8)
    for name, invariant in (("single", True), ("slow", False), ("early", False), ("c3d", False)):
        model = models.build(name, 8, 32, {}, False).eval()
        with torch.no_grad():
            same = torch.allclose(model(x), model(x[:, :, perm]), atol=1e-5)
        assert same == invariant, name


def test_fovea_context_and_non_local_options():
    plain = models.build("slow", 5, 32, {}, False)
    fovea = models.build("slow", 5, 32, {"fovea": True}, False)
    assert fovea.features.dim == 2 * plain.features.dim
    with torch.no_grad():
        assert fovea.eval()(torch.randn(1, 3, 8, 32, 32)).shape == (1, 5)
    with pytest.raises(UsageError, match="divisible by 4"):
        models.build("early", 5, 30, {"fovea": True}, False)
    nl = models.build("c3d", 5, 32, {"non_local": True}, False)
    blocks = [m for m in nl.modules() if isinstance(m, NonLocalBlock)]
    assert len(blocks) == 1
    y = torch.randn(1, 32, 2, 4, 4)
    torch.testing.assert_close(blocks[0](y), y)  # starts as the identity


def test_unknown_model_and_args():
    with pytest.raises(UsageError, match="unknown video model"):
        models.build("resnet50", 5, 32, {}, False)
    with pytest.raises(UsageError, match="--model-arg for slow"):
        models.build("slow", 5, 32, {"depth": 3}, False)
    with pytest.raises(UsageError, match="trained from scratch"):
        models.build("slow", 5, 32, {}, True)


def test_torchvision_video_models_small_clips(monkeypatch, tmp_path):
    torch.manual_seed(0)
    # r3d_18 and r2plus1d_18 are built by the same path as mc3_18 (30M parameters each: slow to initialise)
    for name in ("mc3_18", "s3d", "mvit_v2_s"):
        model = models.build(name, 6, 32, {"frames": 8}, False).eval()  # s3d needs 8 frames or more
        with torch.no_grad():
            assert model(torch.randn(1, 3, 8, 32, 32)).shape == (1, 6), name
    nl = models.build("mc3_18", 6, 32, {"frames": 4, "non_local": True}, False).eval()
    assert sum(isinstance(m, NonLocalBlock) for m in nl.modules()) == 2
    with torch.no_grad():
        assert nl(torch.randn(1, 3, 4, 32, 32)).shape == (1, 6)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(CvkitError, match="not in the local torch hub cache"):
        models.build("r2plus1d_18", 6, 32, {}, True)


def test_example_input_uses_the_models_channels_and_frames():
    model = models.build("two-stream", 4, 32, {"frames": 6}, False)
    assert models.example_input(model, (3, 8, 40, 40)).shape == (1, 5, 6, 40, 40)
