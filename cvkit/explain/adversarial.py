"""``adversarial``: small perturbations that change the prediction (Goodfellow et al. 2015; Madry et al. 2018).

Perturbations live in pixel space ([0, 1] per channel, before normalisation) and are bounded in L-infinity by
``epsilon``. FGSM takes one signed-gradient step; PGD takes ``steps`` steps of ``alpha`` and projects back into
the epsilon ball. Untargeted attacks push away from the clean prediction; with ``--target`` they pull toward
that class. The smallest flipping epsilon is found by scanning the FGSM direction, and for PGD by bisection.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cvkit.explain import render
from cvkit.explain.context import ExplainContext
from cvkit.explain.layers import frozen, logits

Norm = Callable[[torch.Tensor], torch.Tensor]  # pixels in [0, 1] -> model input


def _signed_grad(model: torch.nn.Module, raw: torch.Tensor, labels: torch.Tensor, norm: Norm,
                 target: torch.Tensor | None) -> torch.Tensor:
    """Sign of the gradient of the attack objective (loss up when untargeted, target loss down when targeted)."""
    x = raw.detach().clone().requires_grad_(True)
    with frozen(model):
        out = logits(model, norm(x))
        loss = F.cross_entropy(out, labels) if target is None else -F.cross_entropy(out, target)
        (grad,) = torch.autograd.grad(loss, x)
    return grad.sign()


def fgsm(model: torch.nn.Module, raw: torch.Tensor, labels: torch.Tensor, epsilon: float, norm: Norm,
         target: torch.Tensor | None = None) -> torch.Tensor:
    """One step of size ``epsilon``; ``raw`` is a (B, C, H, W) batch in [0, 1]; returns the adversarial batch."""
    return (raw + epsilon * _signed_grad(model, raw, labels, norm, target)).clamp(0, 1).detach()


def pgd(model: torch.nn.Module, raw: torch.Tensor, labels: torch.Tensor, epsilon: float, steps: int, alpha: float,
        norm: Norm, target: torch.Tensor | None = None) -> torch.Tensor:
    """Projected gradient descent from the clean image (no random start, so results are reproducible)."""
    adv = raw.detach().clone()
    for _ in range(steps):
        adv = adv + alpha * _signed_grad(model, adv, labels, norm, target)
        adv = (raw + (adv - raw).clamp(-epsilon, epsilon)).clamp(0, 1).detach()
    return adv


@torch.no_grad()
def _success(model: torch.nn.Module, adv: torch.Tensor, label: int, norm: Norm, target: int | None) -> torch.Tensor:
    pred = logits(model, norm(adv)).argmax(1)
    return pred == target if target is not None else pred != label


def min_epsilon_fgsm(model: torch.nn.Module, raw: torch.Tensor, label: int, norm: Norm, target: int | None = None,
                     max_epsilon: float = 0.5, scan: int = 64, refine: int = 10) -> float | None:
    """Smallest epsilon along one image's FGSM direction that succeeds (scan, then bisection); None if none."""
    t = None if target is None else torch.tensor([target], device=raw.device)
    sign = _signed_grad(model, raw[None], torch.tensor([label], device=raw.device), norm, t)[0]
    eps = torch.linspace(max_epsilon / scan, max_epsilon, scan, device=raw.device)
    advs = (raw[None] + eps[:, None, None, None] * sign[None]).clamp(0, 1)
    hits = torch.cat([_success(model, advs[i : i + 64], label, norm, target) for i in range(0, scan, 64)])
    if not bool(hits.any()):
        return None
    first = int(hits.float().argmax())
    lo, hi = (float(eps[first - 1]) if first else 0.0), float(eps[first])
    for _ in range(refine):
        mid = (lo + hi) / 2
        if bool(_success(model, (raw + mid * sign).clamp(0, 1)[None], label, norm, target)[0]):
            hi = mid
        else:
            lo = mid
    return hi


def min_epsilon_pgd(model: torch.nn.Module, raw: torch.Tensor, label: int, norm: Norm, steps: int,
                    target: int | None = None, max_epsilon: float = 0.5, refine: int = 8) -> float | None:
    """Smallest epsilon at which PGD (``steps`` steps of 2.5 * eps / steps) succeeds, by bisection."""
    labels = torch.tensor([label], device=raw.device)
    t = None if target is None else torch.tensor([target], device=raw.device)

    def works(e: float) -> bool:
        adv = pgd(model, raw[None], labels, e, steps, 2.5 * e / steps, norm, t)
        return bool(_success(model, adv, label, norm, target)[0])

    if not works(max_epsilon):
        return None
    lo, hi = 0.0, max_epsilon
    for _ in range(refine):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if works(mid) else (mid, hi)
    return hi


def _describe(model: torch.nn.Module, adv: torch.Tensor, raw: torch.Tensor, norm: Norm) -> dict:
    with torch.no_grad():
        p = logits(model, norm(adv[None]))[0].softmax(0)
    d = (adv - raw).flatten()
    return {"pred": int(p.argmax()), "prob": float(p.max()), "linf": float(d.abs().max()), "l2": float(d.norm())}


def run(ctx: ExplainContext) -> list[Path]:
    epsilon = float(ctx.opt("epsilon", 0.03))
    steps = int(ctx.opt("steps", 10))
    alpha = float(ctx.opt("alpha", 2.5 * epsilon / max(steps, 1)))
    max_eps = float(ctx.opt("max_epsilon", 0.5))
    paths: list[Path] = []
    for i, (source, x) in enumerate(ctx.query_inputs("adversarial")):
        raw = ctx.to_raw(x.to(ctx.device)).clamp(0, 1)
        with torch.no_grad():
            p = logits(ctx.model, ctx.from_raw(raw[None]))[0].softmax(0)
        label = int(p.argmax())
        target = ctx.target(p.numel())
        t = None if target is None else torch.tensor([target], device=raw.device)
        labels = torch.tensor([label], device=raw.device)
        advs = {
            "fgsm": fgsm(ctx.model, raw[None], labels, epsilon, ctx.from_raw, t)[0],
            "pgd": pgd(ctx.model, raw[None], labels, epsilon, steps, alpha, ctx.from_raw, t)[0],
        }
        numbers: dict = {"kind": "adversarial", "source": source, "epsilon": epsilon, "steps": steps, "alpha": alpha,
                         "target": target, "clean": {"pred": label, "prob": float(p[label])}}
        rows = []
        for name, adv in advs.items():
            info = _describe(ctx.model, adv, raw, ctx.from_raw)
            info["success"] = info["pred"] == target if target is not None else info["pred"] != label
            numbers[name] = info
            delta = ((adv - raw) / (2 * max(epsilon, 1e-8)) + 0.5).clamp(0, 1)
            tiles = [
                render.caption(render.enlarge(ctx.to_image(x)), f"{ctx.class_name(label)} p={p[label]:.2f}"),
                render.caption(render.enlarge(_pixels(delta)), f"{name} x{0.5 / max(epsilon, 1e-8):.0f}"),
                render.caption(render.enlarge(_pixels(adv)),
                               f"{ctx.class_name(info['pred'])} p={info['prob']:.2f}"),
            ]
            rows.append(render.hstack(tiles))
        numbers["min_epsilon"] = {
            "fgsm": min_epsilon_fgsm(ctx.model, raw, label, ctx.from_raw, target, max_eps),
            "pgd": min_epsilon_pgd(ctx.model, raw, label, ctx.from_raw, steps, target, max_eps,
                                   int(ctx.opt("search", 8))),
        }
        paths += render.save(ctx.out, render.input_name("adversarial", i, source), render.vstack(rows), numbers)
    return paths


def _pixels(raw: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] -> RGB uint8."""
    arr = raw.detach().float().cpu().clamp(0, 1).numpy().transpose(1, 2, 0)
    arr = np.repeat(arr, 3, axis=2) if arr.shape[2] == 1 else arr
    return (arr * 255 + 0.5).astype(np.uint8)
