"""SimCLR (Chen et al. 2020): two augmented views of every image, a projection head, and the NT-Xent (InfoNCE)
loss over the batch: for the positive pair (i, j) among the 2N views,

    l(i, j) = -log( exp(sim(z_i, z_j) / T) / sum_{k != i} exp(sim(z_i, z_k) / T) ),

with sim the cosine similarity, averaged over all 2N ordered positive pairs; the other 2N - 2 views of the
batch are the negatives. Augmentation runs on the batch: random resized crop (affine resampling), rotation,
optional horizontal flip, colour jitter (brightness, contrast, saturation), random greyscale, Gaussian noise.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from .base import Method, check_positive

if TYPE_CHECKING:
    from cvkit_pretrain.models import PretrainModel


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent of the views ``z1[k]`` and ``z2[k]`` (positives) against every other view in the batch."""
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    n = z1.shape[0]
    sim = z @ z.t() / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, positives)


def augment(x: torch.Tensor, args: dict[str, Any]) -> torch.Tensor:
    """One random view of each image of ``x`` (B, 3, H, W) in [0, 1]."""
    b, dev = x.shape[0], x.device
    area = torch.empty(b, device=dev).uniform_(float(args["crop_min"]), 1.0)
    log_ratio = torch.empty(b, device=dev).uniform_(math.log(3 / 4), math.log(4 / 3))
    sx = (area * log_ratio.exp()).sqrt().clamp(max=1.0)
    sy = (area / log_ratio.exp()).sqrt().clamp(max=1.0)
    tx = (1 - sx) * torch.empty(b, device=dev).uniform_(-1, 1)
    ty = (1 - sy) * torch.empty(b, device=dev).uniform_(-1, 1)
    angle = torch.empty(b, device=dev).uniform_(-1, 1) * math.radians(float(args["rotate"]))
    flip = torch.ones(b, device=dev)
    if args["flip"]:
        flip = torch.where(torch.rand(b, device=dev) < 0.5, -1.0, 1.0)
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack([torch.stack([sx * cos * flip, -sy * sin, tx], 1),
                         torch.stack([sx * sin * flip, sy * cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    v = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    s = float(args["jitter"])
    if s > 0:
        def factor() -> torch.Tensor:
            return torch.empty(b, 1, 1, 1, device=dev).uniform_(max(0.0, 1 - s), 1 + s)

        v = v * factor()
        mean = v.mean(dim=(1, 2, 3), keepdim=True)
        v = (v - mean) * factor() + mean
        gray = v.mul(torch.tensor([0.299, 0.587, 0.114], device=dev).view(1, 3, 1, 1)).sum(1, keepdim=True)
        v = (v - gray) * factor() + gray
    if float(args["gray"]) > 0:
        gray = v.mul(torch.tensor([0.299, 0.587, 0.114], device=dev).view(1, 3, 1, 1)).sum(1, keepdim=True)
        v = torch.where(torch.rand(b, 1, 1, 1, device=dev) < float(args["gray"]), gray.expand_as(v), v)
    if float(args["noise"]) > 0:
        v = v + torch.randn_like(v) * float(args["noise"])
    return v.clamp(0, 1)


class SimCLR(Method):
    name = "simclr"
    options = {"temperature": 0.5, "proj_dim": 128, "crop_min": 0.3, "rotate": 0.0, "flip": True, "jitter": 0.4,
               "gray": 0.2, "noise": 0.0}

    def build(self, model: PretrainModel) -> None:
        self.temperature = check_positive("temperature", self.args["temperature"], self.name)
        out = int(check_positive("proj_dim", self.args["proj_dim"], self.name))
        model.head = nn.Sequential(nn.Linear(model.dim, model.dim), nn.BatchNorm1d(model.dim), nn.ReLU(inplace=True),
                                   nn.Linear(model.dim, out))

    def loss(self, model: PretrainModel, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        views = torch.cat([augment(x, self.args), augment(x, self.args)])
        z = model.head(self.features(model, views))
        z1, z2 = z.chunk(2)
        loss = nt_xent(z1, z2, self.temperature)
        with torch.no_grad():
            zn = F.normalize(z.float(), dim=1)
            sim = zn[: len(z1)] @ zn[len(z1):].t()
            top1 = (sim.argmax(1) == torch.arange(len(z1), device=x.device)).float().mean()
        return {"loss": loss, "pair_acc": top1}
