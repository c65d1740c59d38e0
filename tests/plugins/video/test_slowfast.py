"""SlowFast: the two pathways see the frame rates and widths they should, the time-strided lateral connections carry
the fast pathway into the slow one, gradients reach both pathways, and the model trains on clips of any length."""

from __future__ import annotations

import pytest
import torch

from cvkit.errors import UsageError
from cvkit_video import models


def _shapes(model, x):
    seen = {}
    hooks = [getattr(model, name)[k].register_forward_hook(
        lambda m, i, o, key=(name, k): seen.__setitem__(key, tuple(o.shape)))
        for name in ("slow", "fast", "lateral") for k in range(len(getattr(model, name)))]
    with torch.no_grad():
        out = model(x)
    for h in hooks:
        h.remove()
    return out, seen


def test_shapes_and_pathways():
    torch.manual_seed(0)
    model = models.build("slowfast", 8, 48, {"frames": 8}, False).eval()
    assert model.clip_shape == (3, 8)
    out, seen = _shapes(model, torch.randn(2, 3, 8, 48, 48))
    assert out.shape == (2, 8)
    for k in range(4):
        assert seen["fast", k][2] == 8 and seen["slow", k][2] == 4  # alpha = 2: every frame / every second frame
        assert seen["slow", k][1] == 2 * seen["fast", k][1]  # beta = 1/2: the fast pathway is the thin one
    assert [seen["slow", k][1] for k in range(4)] == [16, 16, 32, 32]
    # the stems see the full-resolution frames; a 2 x 2 max-pool after the stem and the next two stages
    assert [seen["slow", k][3] for k in range(4)] == [48, 24, 12, 6]
    assert [seen["fast", k][3] for k in range(4)] == [48, 24, 12, 6]
    for t in (5, 7, 16):
        with torch.no_grad():
            assert model(torch.randn(1, 3, t, 32, 32)).shape == (1, 8)
    with torch.no_grad():
        assert model(torch.randn(1, 3, 8, 37, 45)).shape == (1, 8)  # odd sizes: both pathways round the same way


@pytest.mark.parametrize(("alpha", "frames"), [(2, 8), (4, 8), (2, 7), (3, 16)])
def test_lateral_connections_are_time_strided(alpha, frames):
    """Each lateral takes the fast features at the full frame rate to the slow pathway's (``alpha`` times fewer
    frames) with ``2 * beta`` times the slow channels, and the slow stage after it reads both."""
    torch.manual_seed(0)
    model = models.build("slowfast", 8, 32, {"alpha": alpha, "beta": 0.25}, False).eval()
    _, seen = _shapes(model, torch.randn(1, 3, frames, 32, 32))
    slow_frames = len(range(0, frames, alpha))
    assert len(model.lateral) == 3
    for k, lat in enumerate(model.lateral):
        conv = lat[0]
        assert conv.kernel_size == (5, 1, 1) and conv.stride == (alpha, 1, 1)
        assert seen["fast", k][2] == frames
        assert seen["lateral", k][2] == seen["slow", k][2] == slow_frames
        assert seen["lateral", k][1] == 2 * seen["fast", k][1] == round(2 * 0.25 * seen["slow", k][1])
        assert model.slow[k + 1][0].in_channels == seen["slow", k][1] + seen["lateral", k][1]
        assert seen["lateral", k][3:] == seen["slow", k][3:]


def test_fast_pathway_reaches_the_slow_one():
    """Changing only the frames the slow pathway skips changes the output (through the fast pathway and its
    lateral connections); cutting the laterals and the fast head input makes it blind to them."""
    torch.manual_seed(0)
    model = models.build("slowfast", 8, 32, {}, False).eval()
    x = torch.randn(1, 3, 8, 32, 32)
    y = x.clone()
    y[:, :, 1::2] = torch.randn_like(y[:, :, 1::2])  # frames 1, 3, 5, 7: only the fast pathway sees them
    with torch.no_grad():
        assert not torch.allclose(model(x), model(y), atol=1e-4)
        fast_dim = model.fast[-1][0].out_channels
        model.head.weight[:, -fast_dim:] = 0
        assert not torch.allclose(model(x), model(y), atol=1e-4)  # the laterals alone carry them
        for lat in model.lateral:
            lat[0].weight.zero_()
        torch.testing.assert_close(model(x), model(y))


def test_gradients_reach_both_pathways_and_the_laterals():
    """One backward pass gives every convolution of both pathways and every lateral a non-zero gradient, and the
    fast pathway is trained through the laterals even when the head ignores its own features."""
    torch.manual_seed(0)
    model = models.build("slowfast", 8, 32, {}, False).train()
    x, t = torch.randn(4, 3, 8, 32, 32), torch.tensor([0, 1, 2, 3])
    torch.nn.functional.cross_entropy(model(x), t).backward()
    for name in ("slow", "fast", "lateral"):
        for k, block in enumerate(getattr(model, name)):
            assert block[0].weight.grad is not None and block[0].weight.grad.abs().sum() > 0, (name, k)
    model.zero_grad()
    fast_dim = model.fast[-1][0].out_channels
    with torch.no_grad():
        model.head.weight[:, -fast_dim:] = 0
    torch.nn.functional.cross_entropy(model(x), t).backward()
    assert model.fast[0][0].weight.grad.abs().sum() > 0  # through the laterals into the slow pathway
    assert model.fast[-1][0].weight.grad.abs().sum() == 0  # the last fast stage only feeds the (cut) head


def test_time_padding_repeats_the_edge_frames():
    """On a static clip every frame of every feature map is the same (zero frames at the ends would make the
    objects appear and vanish there, motion the clip does not have)."""
    torch.manual_seed(0)
    model = models.build("slowfast", 8, 32, {}, False).eval()
    outputs = {}
    hooks = [getattr(model, name)[k].register_forward_hook(
        lambda m, i, o, key=(name, k): outputs.__setitem__(key, o))
        for name in ("slow", "fast", "lateral") for k in range(len(getattr(model, name)))]
    with torch.no_grad():
        model(torch.randn(1, 3, 1, 32, 32).expand(1, 3, 8, 32, 32).contiguous())
    for h in hooks:
        h.remove()
    assert len(outputs) == 11
    for key, out in outputs.items():
        torch.testing.assert_close(out, out[:, :, :1].expand_as(out), msg=str(key))


def test_bad_arguments():
    with pytest.raises(UsageError, match="alpha"):
        models.build("slowfast", 8, 32, {"alpha": 0}, False)
    with pytest.raises(UsageError, match="beta"):
        models.build("slowfast", 8, 32, {"beta": 1.5}, False)
    with pytest.raises(UsageError, match="slowfast"):
        models.build("slowfast", 8, 32, {"nope": 1}, False)


def test_trains_a_step():
    torch.manual_seed(0)
    model = models.build("slowfast", 4, 16, {"width": 8}, False).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, t = torch.randn(4, 3, 8, 16, 16), torch.tensor([0, 1, 2, 3])
    first = torch.nn.functional.cross_entropy(model(x), t)
    for _ in range(5):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), t)
        loss.backward()
        opt.step()
    assert loss.item() < first.item()


def test_first_layer_3d_filters_drawn_as_clips(tmp_path):
    """``visualize filters`` on a video model: a frames-by-filters grid and an animated GIF of the first 3D conv."""
    from PIL import Image

    from cvkit.explain import filters
    from cvkit.explain.context import ExplainContext

    torch.manual_seed(0)
    model = models.build("slowfast", 8, 32, {}, False).eval()
    paths = filters.run(ExplainContext(model, tmp_path, task_name="video"))
    names = sorted(p.name for p in paths)
    assert names == ["filters_slow.0.0.gif", "filters_slow.0.0.json", "filters_slow.0.0.png"]
    import json

    numbers = json.loads((tmp_path / "filters_slow.0.0.json").read_text())
    weight = model.slow[0][0].weight  # (16, 3, 1, 3, 3): one time step
    assert numbers["shape"] == list(weight.shape) and numbers["grid"] == [16, 1] and numbers["mode"] == "clip-rgb"
    fast = filters.run(ExplainContext(model, tmp_path, layer="fast.0.0"))
    gif = Image.open(next(p for p in fast if p.suffix == ".gif"))
    assert gif.n_frames == 5  # the fast stem's 5 x 3 x 3 kernels: one GIF frame per time step
    assert json.loads(next(p for p in fast if p.suffix == ".json").read_text())["grid"] == [8, 5]
