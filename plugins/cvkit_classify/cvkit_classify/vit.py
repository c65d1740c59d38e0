"""A Vision Transformer written out from scratch (Dosovitskiy et al. 2021), sized for small images on a CPU.

``vit-tiny``: the image is cut into ``patch`` x ``patch`` patches, each linearly embedded (a strided convolution),
a learned class token is prepended and learned position embeddings added; ``depth`` pre-norm Transformer blocks
(multi-head self-attention, then a GELU MLP, each in a residual branch after LayerNorm) follow, and the class
token's final LayerNorm output feeds a linear classifier.

Defaults (``--model-arg``): ``patch=4``, ``dim=64``, ``depth=4``, ``heads=4``, ``mlp=128``, ``dropout=0.1``; on
16 px digits that is 16 patches + the class token and 0.14 M parameters. Attention uses
``torch.nn.MultiheadAttention`` (as torchvision's ViT does), so ``cvkit visualize attention`` reads both the same
way.
"""

from __future__ import annotations

import torch
from torch import nn

from cvkit.errors import UsageError


class Block(nn.Module):
    """Pre-norm Transformer encoder block: x + MSA(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim: int, heads: int, mlp: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp, dim),
                                 nn.Dropout(dropout))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm1(x)
        x = x + self.drop(self.attn(y, y, y, need_weights=False)[0])
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    head_module = "head"

    def __init__(self, num_classes: int, img_size: int, patch: int = 4, dim: int = 64, depth: int = 4,
                 heads: int = 4, mlp: int = 128, dropout: float = 0.1, channels: int = 3) -> None:
        super().__init__()
        if img_size % patch:
            raise UsageError(f"vit-tiny: --img-size {img_size} is not a multiple of patch={patch}")
        if dim % heads:
            raise UsageError(f"vit-tiny: dim={dim} is not divisible by heads={heads}")
        self.grid = img_size // patch
        self.patch_embed = nn.Conv2d(channels, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid * self.grid + 1, dim))
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.Sequential(*(Block(dim, heads, mlp, dropout) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The class token after the last block and LayerNorm ``(B, dim)``."""
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), tokens], 1)
        tokens = self.blocks(self.drop(tokens + self.pos_embed))
        return self.norm(tokens)[:, 0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


def vit_tiny(num_classes: int, img_size: int, **kwargs: int | float) -> ViT:
    """The ``vit-tiny`` builder (``--model-arg patch=, dim=, depth=, heads=, mlp=, dropout=``)."""
    try:
        return ViT(num_classes, img_size, **kwargs)
    except TypeError as exc:
        raise UsageError(f"--model-arg for vit-tiny: {exc}") from None
