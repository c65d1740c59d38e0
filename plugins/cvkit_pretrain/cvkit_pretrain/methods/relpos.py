"""Relative patch position (Doersch et al. 2015): a centre patch and one of its 8 neighbours from a 3x3 grid, both
through the same encoder; an MLP on the two feature vectors classifies where the neighbour was.

Guards against trivial shortcuts (options): ``gap`` pixels between grid cells (no continuing edges or textures),
``jitter`` (each patch shifted by up to that many pixels, so that grid alignment gives nothing away), and
``chroma``: ``project`` removes the green-magenta colour axis of every pixel (chromatic aberration points to the
lens centre), ``drop`` keeps one random colour channel per patch and replaces the other two by faint noise
(1/100 of the kept channel's standard deviation), ``none`` leaves colours alone. Patch size: the largest that
fits, ``(S - 2 gap - 2 jitter) // 3``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from cvkit.errors import UsageError

from .base import Method

if TYPE_CHECKING:
    from cvkit_pretrain.models import PretrainModel

NEIGHBOURS = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1), (2, 2)]  # (row, col); the centre is (1, 1)
GREEN_MAGENTA = torch.tensor([-1.0, 2.0, -1.0]) / 6**0.5
CHROMA = ("project", "drop", "none")


def patch_layout(size: int, gap: int, jitter: int) -> tuple[int, int]:
    """(patch size, offset of the grid) in an image of ``size``."""
    patch = (size - 2 * gap - 2 * jitter) // 3
    if patch < 4:
        raise UsageError(f"relpos: --img-size {size} leaves {patch}-px patches with gap={gap}, jitter={jitter}; "
                         "use a larger image or smaller gap/jitter")
    return patch, (size - 3 * patch - 2 * gap) // 2


def crop(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, patch: int) -> torch.Tensor:
    """Per-sample crops ``x[b, :, top[b]:top[b]+patch, left[b]:left[b]+patch]``."""
    r = torch.arange(patch, device=x.device)
    rows = (top[:, None] + r)[:, :, None]
    cols = (left[:, None] + r)[:, None, :]
    b = torch.arange(x.shape[0], device=x.device)[:, None, None]
    return x[b, :, rows, cols].permute(0, 3, 1, 2)


def project_out_green_magenta(x: torch.Tensor) -> torch.Tensor:
    axis = GREEN_MAGENTA.to(x)
    return x - (x * axis.view(1, 3, 1, 1)).sum(1, keepdim=True) * axis.view(1, 3, 1, 1)


def drop_channels(x: torch.Tensor) -> torch.Tensor:
    keep = torch.randint(0, 3, (x.shape[0],), device=x.device)
    kept = x[torch.arange(x.shape[0], device=x.device), keep][:, None]
    noise = torch.randn_like(x) * kept.std(dim=(2, 3), keepdim=True) / 100 + kept.mean(dim=(2, 3), keepdim=True)
    mask = F.one_hot(keep, 3).to(x).view(-1, 3, 1, 1)
    return mask * kept + (1 - mask) * noise


class RelativePosition(Method):
    name = "relpos"
    options = {"gap": 2, "jitter": 1, "chroma": "project"}

    def build(self, model: PretrainModel) -> None:
        self.gap, self.jitter = int(self.args["gap"]), int(self.args["jitter"])
        if self.gap < 0 or self.jitter < 0:
            raise UsageError("relpos: gap and jitter must be >= 0")
        if self.args["chroma"] not in CHROMA:
            raise UsageError(f"--model-arg chroma={self.args['chroma']}: expected one of {', '.join(CHROMA)}")
        self.patch, self.offset = patch_layout(model.img_size, self.gap, self.jitter)
        model.head = nn.Sequential(nn.Linear(2 * model.dim, 512), nn.ReLU(inplace=True), nn.Linear(512, 8))

    def guard(self, patches: torch.Tensor) -> torch.Tensor:
        if self.args["chroma"] == "project":
            return project_out_green_magenta(patches)
        if self.args["chroma"] == "drop":
            return drop_channels(patches)
        return patches

    def pairs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Centre patches, neighbour patches and the neighbour's position index (0..7) for a batch."""
        b, dev = x.shape[0], x.device
        label = torch.randint(0, 8, (b,), device=dev)
        where = torch.tensor(NEIGHBOURS, device=dev)[label]
        step = self.patch + self.gap

        def origin(cell: torch.Tensor) -> torch.Tensor:
            shift = torch.randint(-self.jitter, self.jitter + 1, (b,), device=dev)
            return (self.offset + cell * step + shift).clamp(0, x.shape[-1] - self.patch)

        ones = torch.ones(b, dtype=torch.long, device=dev)
        centre = crop(x, origin(ones), origin(ones), self.patch)
        other = crop(x, origin(where[:, 0]), origin(where[:, 1]), self.patch)
        return self.guard(centre), self.guard(other), label

    def eval_features(self, model: PretrainModel, x: torch.Tensor) -> torch.Tensor:
        """Whole images get the deterministic part of the guard (the projection), as the patches did."""
        return self.features(model, project_out_green_magenta(x) if self.args["chroma"] == "project" else x)

    def loss(self, model: PretrainModel, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        centre, other, target = self.pairs(x)
        feats = self.features(model, torch.cat([centre, other]))
        a, b = feats.chunk(2)
        logits = model.head(torch.cat([a, b], 1))
        return {"loss": F.cross_entropy(logits, target), "acc": (logits.argmax(1) == target).float().mean()}
