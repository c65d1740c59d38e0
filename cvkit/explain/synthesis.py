"""Images made by optimising the input: ``class-model``, ``dream`` and ``inversion``.

- class-model (Simonyan et al. 2014; Yosinski et al. 2015): gradient ascent on a class logit from a grey image,
  with L2 decay, random jitter and a periodic Gaussian blur as the image prior.
- dream (DeepDream): gradient ascent on the mean squared activation of a layer, starting from an input image,
  coarse to fine over octaves.
- inversion (Mahendran & Vedaldi 2015): from noise, find an image whose layer features match those of an input,
  with a total-variation prior.
Images stay inside the valid pixel range [0, 1] (clamped after each step, in normalised units).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from cvkit.explain import render
from cvkit.explain.context import ExplainContext
from cvkit.explain.layers import first_tensor, frozen, get_layer, logits, middle_layer

log = logging.getLogger(__name__)
Clamp = Callable[[torch.Tensor], torch.Tensor]


class _Stop(Exception):
    """Raised by a hook to end a forward pass once the wanted layer has run."""


def layer_output(model: torch.nn.Module, x: torch.Tensor, layer: str) -> torch.Tensor:
    """The output of ``layer`` for ``x``, stopping the forward pass there (later layers never run)."""
    store: dict[str, torch.Tensor] = {}

    def hook(_m: torch.nn.Module, _a: tuple, out: object) -> None:
        store["out"] = first_tensor(out)
        raise _Stop

    handle = get_layer(model, layer).register_forward_hook(hook)
    try:
        model(x)
    except _Stop:
        pass
    finally:
        handle.remove()
    if "out" not in store or store["out"] is None:
        raise RuntimeError(f"layer {layer!r} did not run in the forward pass")
    return store["out"]


def _jitter(x: torch.Tensor, amount: int, gen: torch.Generator) -> tuple[torch.Tensor, tuple[int, int]]:
    if amount <= 0:
        return x, (0, 0)
    dy, dx = (int(v) for v in torch.randint(-amount, amount + 1, (2,), generator=gen))
    return torch.roll(x, (dy, dx), dims=(2, 3)), (dy, dx)


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    from torchvision.transforms.v2.functional import gaussian_blur

    k = 2 * max(1, round(2 * sigma)) + 1
    return gaussian_blur(x, [k, k], [sigma, sigma])


def class_model(
    model: torch.nn.Module, shape: tuple[int, int, int], targets: list[int], clamp: Clamp, iterations: int = 200,
    lr: float = 0.1, l2: float = 1e-3, jitter: int = 2, blur_every: int = 4, blur_sigma: float = 0.5, seed: int = 0,
    device: torch.device | None = None,
) -> tuple[torch.Tensor, dict]:
    """One image per target class (normalised, (B, C, H, W)), with the class logits before and after."""
    gen = torch.Generator().manual_seed(seed)
    x = (0.01 * torch.randn(len(targets), *shape, generator=gen)).to(device)
    idx = torch.arange(len(targets), device=x.device)
    t = torch.tensor(targets, device=x.device)
    with frozen(model):
        with torch.no_grad():
            start = logits(model, x)[idx, t]
        curve = []
        for step in range(iterations):
            x.requires_grad_(True)
            shifted, _ = _jitter(x, jitter, gen)
            score = logits(model, shifted)[idx, t]
            objective = score.sum() - l2 * (x**2).sum()
            (grad,) = torch.autograd.grad(objective, x)
            with torch.no_grad():
                scale = grad.abs().mean((1, 2, 3), keepdim=True) + 1e-12
                x = x + lr * grad / scale
                if blur_every and (step + 1) % blur_every == 0:
                    x = _blur(x, blur_sigma)
                x = clamp(x).detach()
            if step % 10 == 0 or step == iterations - 1:
                curve.append(score.detach().cpu().tolist())
        with torch.no_grad():
            out = logits(model, x)
    end = out[idx, t]
    return x, {
        "targets": targets,
        "score_start": start.cpu().tolist(),
        "score_end": end.cpu().tolist(),
        "prob_end": out.softmax(1)[idx, t].cpu().tolist(),
        "predicted_end": out.argmax(1).cpu().tolist(),
        "curve_every_10": curve,
    }


def _energy(model: torch.nn.Module, x: torch.Tensor, layer: str) -> torch.Tensor:
    return layer_output(model, x, layer).float().pow(2).mean()


def dream(model: torch.nn.Module, x: torch.Tensor, layer: str, clamp: Clamp, octaves: int = 3,
          octave_scale: float = 1.4, iterations: int = 10, lr: float = 0.05, jitter: int = 2, seed: int = 0,
          min_size: int = 8) -> tuple[torch.Tensor, dict]:
    """DeepDream on one normalised image (C, H, W); returns the dreamt image and the objective before/after."""
    gen = torch.Generator().manual_seed(seed)
    base = x.detach().unsqueeze(0)
    h, w = base.shape[2:]
    sizes = [(round(h / octave_scale**i), round(w / octave_scale**i)) for i in range(octaves)]
    sizes = [s for s in sizes if min(s) >= min_size][::-1] or [(h, w)]
    with frozen(model):
        usable = []
        for s in sizes:  # a model may not accept every size (e.g. a flatten + linear head before the layer)
            try:
                with torch.no_grad():
                    layer_output(model, F.interpolate(base, size=s, mode="bilinear", align_corners=False), layer)
                usable.append(s)
            except Exception as exc:  # noqa: BLE001 - models reject sizes with assertions, value or runtime errors
                log.info("dream: skipping octave %s: %s", s, exc)
        if (h, w) not in usable:
            usable.append((h, w))
        with torch.no_grad():
            start = float(_energy(model, base, layer))
        detail = torch.zeros_like(base)
        img = base
        for s in usable:
            octave_base = F.interpolate(base, size=s, mode="bilinear", align_corners=False)
            detail = F.interpolate(detail, size=s, mode="bilinear", align_corners=False)
            img = (octave_base + detail).detach()
            for _ in range(iterations):
                img.requires_grad_(True)
                shifted, _ = _jitter(img, jitter, gen)
                (grad,) = torch.autograd.grad(_energy(model, shifted, layer), img)
                with torch.no_grad():
                    img = clamp(img + lr * grad / (grad.abs().mean() + 1e-12)).detach()
            detail = img - octave_base
        with torch.no_grad():
            end = float(_energy(model, img, layer))
    return img[0], {"layer": layer, "octaves": [list(s) for s in usable], "objective_start": start,
                    "objective_end": end}


def _tv(x: torch.Tensor) -> torch.Tensor:
    return (x[:, :, 1:, :] - x[:, :, :-1, :]).pow(2).mean() + (x[:, :, :, 1:] - x[:, :, :, :-1]).pow(2).mean()


def invert(model: torch.nn.Module, x: torch.Tensor, layer: str, clamp: Clamp, iterations: int = 200,
           lr: float = 0.05, tv: float = 0.05, seed: int = 0) -> tuple[torch.Tensor, dict]:
    """Reconstruct one normalised image (C, H, W) from ``layer``'s features, starting from noise (Adam)."""
    gen = torch.Generator().manual_seed(seed)
    with frozen(model):
        with torch.no_grad():
            goal = layer_output(model, x.unsqueeze(0), layer).float()
        norm = goal.pow(2).sum().clamp(min=1e-12)
        rec = clamp((0.1 * torch.randn(1, *x.shape, generator=gen)).to(x.device)).requires_grad_(True)
        opt = torch.optim.Adam([rec], lr=lr)

        def error(img: torch.Tensor) -> torch.Tensor:
            return (layer_output(model, img, layer).float() - goal).pow(2).sum() / norm

        with torch.no_grad():
            start = float(error(rec))
        for _ in range(iterations):
            opt.zero_grad()
            loss = error(rec) + tv * _tv(rec)
            loss.backward()
            opt.step()
            with torch.no_grad():
                rec.copy_(clamp(rec))
        with torch.no_grad():
            end = float(error(rec))
            pixel = float((rec[0] - x).pow(2).mean())
    return rec.detach()[0], {"layer": layer, "feature_error_start": start, "feature_error_end": end,
                             "tv_weight": tv, "pixel_mse_normalised": pixel}


# ---------------------------------------------------------------------------------------------- kinds
def _clamp(ctx: ExplainContext) -> Clamp:
    """Keep normalised images inside the pixel range [0, 1]; with the ``grey`` option also make R = G = B
    (for models trained on grey images, whose colour directions are otherwise unconstrained)."""
    grey = bool(ctx.opt("grey", False))

    def clamp(x: torch.Tensor) -> torch.Tensor:
        raw = ctx.to_raw(x).clamp(0, 1)
        if grey:
            raw = raw.mean(1, keepdim=True).expand_as(raw)
        return ctx.from_raw(raw)

    return clamp


def run_class_model(ctx: ExplainContext) -> list[Path]:
    shape = ctx.input_shape()
    with torch.no_grad():
        num_classes = logits(ctx.model, torch.zeros(1, *shape, device=ctx.device)).shape[1]
    target = ctx.target(num_classes)
    targets = [target] if target is not None else list(range(min(num_classes, int(ctx.opt("max_classes", 10)))))
    images, numbers = class_model(
        ctx.model, shape, targets, _clamp(ctx), int(ctx.opt("iterations", 200)),
        float(ctx.opt("lr", 0.1)), float(ctx.opt("l2", 1e-3)), int(ctx.opt("jitter", max(1, ctx.img_size // 16))),
        int(ctx.opt("blur_every", 4)), float(ctx.opt("blur_sigma", 0.5)), ctx.seed(), ctx.device)
    tiles = [render.caption(render.enlarge(ctx.to_image(img, stretch=True)), f"{ctx.class_name(t)} {s:.1f}")
             for img, t, s in zip(images, targets, numbers["score_end"], strict=True)]
    numbers = {"kind": "class-model", "target_names": [ctx.class_name(t) for t in targets], **numbers}
    suffix = f"_{render.slug(ctx.class_name(target))}" if target is not None else ""
    return render.save(ctx.out, f"class-model{suffix}", render.grid(tiles, pad=4), numbers)


def run_dream(ctx: ExplainContext) -> list[Path]:
    layer = ctx.layer or middle_layer(ctx.model)
    paths: list[Path] = []
    for i, (source, x) in enumerate(ctx.query_inputs("dream")):
        img, numbers = dream(
            ctx.model, x.to(ctx.device), layer, _clamp(ctx), int(ctx.opt("octaves", 3)),
            float(ctx.opt("octave_scale", 1.4)), int(ctx.opt("iterations", 10)), float(ctx.opt("lr", 0.05)),
            int(ctx.opt("jitter", max(1, ctx.img_size // 16))), ctx.seed())
        panel = render.hstack([
            render.caption(render.enlarge(ctx.to_image(x)), source),
            render.caption(render.enlarge(ctx.to_image(img)),
                           f"dream {layer}: {numbers['objective_start']:.2g} -> {numbers['objective_end']:.2g}"),
        ])
        paths += render.save(ctx.out, render.input_name("dream", i, source), panel,
                             {"kind": "dream", "source": source, **numbers})
    return paths


def run_inversion(ctx: ExplainContext) -> list[Path]:
    layer = ctx.layer or middle_layer(ctx.model)
    paths: list[Path] = []
    for i, (source, x) in enumerate(ctx.query_inputs("inversion")):
        img, numbers = invert(ctx.model, x.to(ctx.device), layer, _clamp(ctx), int(ctx.opt("iterations", 200)),
                              float(ctx.opt("lr", 0.05)), float(ctx.opt("tv", 0.05)), ctx.seed())
        panel = render.hstack([
            render.caption(render.enlarge(ctx.to_image(x)), source),
            render.caption(render.enlarge(ctx.to_image(img)),
                           f"from {layer}: error {numbers['feature_error_end']:.3f}"),
        ])
        paths += render.save(ctx.out, render.input_name("inversion", i, source), panel,
                             {"kind": "inversion", "source": source, **numbers})
    return paths
