"""The engine's optimizers: the multi-tensor implementation, its equality with PyTorch's one-tensor loop, resume."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cvkit.engine.optim import build_optimizer, load_optimizer_state, param_groups


def small_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 4))


def train(opt_of, steps: int = 6) -> torch.Tensor:
    model = small_model()
    opt = opt_of(model)
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(5, 3, 8, 8, generator=gen)
        opt.zero_grad()
        model(x).square().mean().backward()
        opt.step()
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize("name", ["adamw", "sgd"])
def test_multi_tensor_updates_equal_the_one_tensor_loop_to_the_bit(name):
    def ours(model):
        opt = build_optimizer(model, name, 1e-2, 1e-2)
        assert all(g["foreach"] is True for g in opt.param_groups)
        return opt

    def loop(model):  # what the engine built before: PyTorch's default, a one-tensor loop on CPU
        groups = param_groups(model, 1e-2)
        if name == "sgd":
            return torch.optim.SGD(groups, lr=1e-2, momentum=0.9, nesterov=True, foreach=False)
        return torch.optim.AdamW(groups, lr=1e-2, foreach=False)

    a, b = train(ours), train(loop)
    assert torch.equal(a, b)
    assert not torch.equal(a, train(lambda m: build_optimizer(m, name, 2e-2, 1e-2)))  # the check can fail


def test_resuming_keeps_the_multi_tensor_implementation():
    model = small_model()
    old = torch.optim.AdamW(param_groups(model, 1e-2), lr=1e-3)  # a checkpoint from before: foreach=None
    model(torch.randn(2, 3, 8, 8)).sum().backward()
    old.step()
    state = old.state_dict()
    assert state["param_groups"][0]["foreach"] is None
    opt = build_optimizer(model, "adamw", 1e-3, 1e-2)
    load_optimizer_state(opt, state)
    assert all(g["foreach"] is True for g in opt.param_groups)
    assert torch.equal(opt.state_dict()["state"][0]["exp_avg"], state["state"][0]["exp_avg"])
