"""A small Transformer decoder: masked self-attention over the words so far, cross-attention over the grid."""

from __future__ import annotations

import math

import torch
from torch import nn

from cvkit.nn.grid import GridEncoder
from cvkit_caption.models.lstm import CaptionModel


def sinusoidal(length: int, dim: int) -> torch.Tensor:
    """The fixed positional encoding of "Attention is all you need" (sin on even, cos on odd channels)."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe


class TransformerCaptioner(CaptionModel):
    """``positions``: ``sinusoidal`` (fixed) or ``learned`` word positions; the grid always has learned ones."""

    def __init__(self, encoder: GridEncoder, vocab: list[str], grid_cells: int, dim: int = 128, layers: int = 2,
                 heads: int = 4, ff: int = 256, dropout: float = 0.1, positions: str = "sinusoidal",
                 max_len: int = 40) -> None:
        super().__init__(encoder, vocab, dim, dropout)
        if positions not in ("sinusoidal", "learned"):
            raise ValueError(f"positions={positions}: expected sinusoidal or learned")
        self.proj = nn.Linear(encoder.out_channels, dim)
        self.grid_pos = nn.Parameter(torch.randn(grid_cells, dim) * 0.02)
        if positions == "learned":
            self.word_pos = nn.Parameter(torch.randn(max_len, dim) * 0.02)
        else:
            self.register_buffer("word_pos", sinusoidal(max_len, dim), persistent=False)
        layer = nn.TransformerDecoderLayer(dim, heads, ff, dropout, batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, layers)
        self.norm = nn.LayerNorm(dim)
        self.out = nn.Linear(dim, len(vocab))
        self.scale = math.sqrt(dim)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        grid = self.encoder(images).flatten(2).transpose(1, 2)
        return self.proj(grid) + self.grid_pos[: grid.shape[1]]

    def decode_all(self, memory: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        t = tokens.shape[1]
        x = self.drop(self.embed(tokens) * self.scale + self.word_pos[:t])
        mask = nn.Transformer.generate_square_subsequent_mask(t, device=tokens.device, dtype=x.dtype)
        return self.out(self.norm(self.decoder(x, memory, tgt_mask=mask, tgt_is_causal=True)))

    def forward(self, images: torch.Tensor, captions: torch.Tensor, owner: torch.Tensor) -> torch.Tensor:
        return self.decode_all(self.encode(images)[owner], captions[:, :-1])

    def init_state(self, memory: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (torch.zeros(memory.shape[0], 0, dtype=torch.long, device=memory.device),)

    def step(self, memory: torch.Tensor, state: tuple[torch.Tensor, ...], tokens: torch.Tensor
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...], None]:
        prefix = torch.cat([state[0], tokens[:, None]], 1)[:, -self.word_pos.shape[0]:]
        return self.decode_all(memory, prefix)[:, -1], (prefix,), None
