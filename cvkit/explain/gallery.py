"""Make the pictures of ``docs/visualize.md``: every explain kind on a small CNN trained on the embedded digits.

    python -m cvkit.explain.gallery --out docs/gallery

scikit-learn's 1,797 real 8x8 handwritten digits are upsampled to 32x32 RGB (grey replicated) and normalised
with the ImageNet statistics; the 80/20 split and every optimisation are seeded. A network of six 3x3
convolutions, two max-pools, a global average pool and a linear head (so that CAM applies) is trained with
AdamW for a few epochs on the CPU (about a minute), then each kind writes its PNG (JSON sidecars are dropped).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cvkit.explain import KINDS, ExplainContext

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
log = logging.getLogger("cvkit.explain.gallery")


def digits(size: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normalised (N, 3, size, size) train and val images with labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    raw = torch.tensor(d.images / 16.0, dtype=torch.float32)[:, None]
    raw = F.interpolate(raw, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1).repeat(1, 3, 1, 1)
    x = (raw - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    idx = np.arange(len(x))
    train, val = train_test_split(idx, test_size=0.2, random_state=seed, stratify=d.target)
    y = torch.tensor(d.target)
    return x[train], y[train], x[val], y[val]


def network(classes: int = 10, width: int = 16) -> nn.Sequential:
    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    return nn.Sequential(
        *block(3, width), nn.MaxPool2d(2), *block(width, 2 * width), nn.MaxPool2d(2), *block(2 * width, 4 * width),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, classes),
    )


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int) -> nn.Module:
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), 3e-3, weight_decay=1e-4)
    steps = epochs * (len(x) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(x), (64,), generator=gen)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


# kind -> options for the gallery (small enough to run in seconds on a CPU)
GALLERY: dict[str, dict] = {
    "filters": {},
    "activations": {},
    "saliency": {},
    "occlusion": {},
    "cam": {},
    "gradcam": {},
    "tsne": {},
    "neighbors": {"k": 6},
    "adversarial": {"epsilon": 0.1},
    "class-model": {"grey": True},  # the digits are grey: keep R = G = B in the synthesised images
    "dream": {"layer": "10", "iterations": 20, "grey": True},
    "inversion": {"layer": "10", "tv": 0.3, "grey": True},
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/gallery"))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    xt, yt, xv, yv = digits(args.size, args.seed)
    start = time.time()
    model = train(network(), xt, yt, args.epochs, args.seed)
    with torch.no_grad():
        acc = float((model(xv).argmax(1) == yv).float().mean())
    log.info("trained in %.0f s: val top-1 %.3f", time.time() - start, acc)

    def load_split(split: str):
        x, y = (xt, yt) if split == "train" else (xv, yv)
        for i in range(0, len(x), 256):
            yield x[i : i + 256], y[i : i + 256]

    inputs = [(f"val_{i}_digit{int(yv[i])}.png", xv[i]) for i in (0, 3)]
    args.out.mkdir(parents=True, exist_ok=True)
    for kind, options in GALLERY.items():
        options = dict(options)
        layer = options.pop("layer", None)
        with tempfile.TemporaryDirectory() as tmp:
            ctx = ExplainContext(model=model, out=Path(tmp), classes=[str(i) for i in range(10)], mean=MEAN,
                                 std=STD, img_size=args.size, inputs=inputs[:1], load_split=load_split, layer=layer,
                                 options=options)
            t = time.time()
            pngs = [p for p in KINDS[kind](ctx) if p.suffix == ".png"]
            shutil.copyfile(pngs[0], args.out / f"{kind}.png")
            numbers = json.loads(pngs[0].with_suffix(".json").read_text())
        log.info("%-12s %5.1f s  %s  %s", kind, time.time() - t, args.out / f"{kind}.png", _summary(numbers))


def _summary(numbers: dict) -> str:
    """The scalar numbers of a sidecar (one level of nesting), for the log."""
    parts = []
    for key, value in numbers.items():
        if key in ("image", "kind", "source") or isinstance(value, list):
            continue
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if not isinstance(v, (list, dict))}
        parts.append(f"{key}={value}")
    return " ".join(parts)


if __name__ == "__main__":
    main()
