"""SlowFast: the two pathways see the frame rates they should, the lateral connections carry the fast pathway into
the slow one, and the model trains on clips of any length."""

from __future__ import annotations

import torch

from cvkit_video import models


def test_shapes_and_pathways():
    torch.manual_seed(0)
    model = models.build("slowfast", 8, 48, {"frames": 8}, False).eval()
    assert model.clip_shape == (3, 8)
    seen = {}
    for name in ("slow", "fast"):
        getattr(model, name)[0].register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, o.shape))
    with torch.no_grad():
        assert model(torch.randn(2, 3, 8, 48, 48)).shape == (2, 8)
    assert seen["fast"][2] == 8 and seen["slow"][2] == 4  # alpha = 2
    assert seen["slow"][1] == 4 * seen["fast"][1]  # beta = 1/4
    for t in (5, 7, 16):
        with torch.no_grad():
            assert model(torch.randn(1, 3, t, 32, 32)).shape == (1, 8)


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
        for lat in model.lateral:
            lat.weight.zero_()
        fast_dim = model.fast[-1][0].out_channels
        model.head.weight[:, -fast_dim:] = 0
        torch.testing.assert_close(model(x), model(y))


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
    weight = model.slow[0][0].weight  # (8, 3, 1, 3, 3): one time step
    assert numbers["shape"] == list(weight.shape) and numbers["grid"] == [8, 1] and numbers["mode"] == "clip-rgb"
    fast = filters.run(ExplainContext(model, tmp_path, layer="fast.0.0"))
    gif = Image.open(next(p for p in fast if p.suffix == ".gif"))
    assert gif.n_frames == 5  # the fast stem's 5 x 3 x 3 kernels: one GIF frame per time step
    assert json.loads(next(p for p in fast if p.suffix == ".json").read_text())["grid"] == [2, 5]
