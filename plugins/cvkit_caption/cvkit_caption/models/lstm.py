"""LSTM decoders: Show and Tell (the image initialises the LSTM) and Show, Attend and Tell (soft attention over
the encoder grid at every word).

Every caption model has the same interface, used by training (teacher forcing) and by every decoding strategy:
``encode(images) -> memory`` (batch first), ``init_state(memory) -> state`` (a tuple of batch-first tensors) and
``step(memory, state, tokens) -> (logits, state, attention or None)``.
"""

from __future__ import annotations

import torch
from torch import nn

from cvkit.nn.grid import GridEncoder


class CaptionModel(nn.Module):
    """Base: word embedding, output layer, and teacher-forced training through ``step``."""

    backbone_modules = ("encoder",)  # what --freeze-backbone freezes

    def __init__(self, encoder: GridEncoder, vocab: list[str], embed: int, dropout: float) -> None:
        super().__init__()
        self.encoder = encoder
        self.vocab = list(vocab)  # plain attribute: rebuilt from the checkpoint's dataset info
        self.embed = nn.Embedding(len(vocab), embed, padding_idx=0)
        self.drop = nn.Dropout(dropout)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def init_state(self, memory: torch.Tensor) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def step(self, memory: torch.Tensor, state: tuple[torch.Tensor, ...], tokens: torch.Tensor
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...], torch.Tensor | None]:
        raise NotImplementedError

    def forward(self, images: torch.Tensor, captions: torch.Tensor, owner: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, T - 1, V)`` predicting ``captions[:, 1:]`` from ``captions[:, :-1]`` (teacher forcing)."""
        memory = self.encode(images)[owner]
        state = self.init_state(memory)
        out = []
        for t in range(captions.shape[1] - 1):
            logits, state, _ = self.step(memory, state, captions[:, t])
            out.append(logits)
        return torch.stack(out, 1)


class ShowTell(CaptionModel):
    """The grid average-pooled to ``pool`` x ``pool`` and flattened gives the LSTM's initial state."""

    def __init__(self, encoder: GridEncoder, vocab: list[str], embed: int = 128, hidden: int = 256,
                 pool: int = 4, dropout: float = 0.2) -> None:
        super().__init__(encoder, vocab, embed, dropout)
        self.pool = nn.AdaptiveAvgPool2d(pool)
        feat = encoder.out_channels * pool * pool
        self.init_h, self.init_c = nn.Linear(feat, hidden), nn.Linear(feat, hidden)
        self.cell = nn.LSTMCell(embed, hidden)
        self.out = nn.Linear(hidden, len(vocab))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.pool(self.encoder(images)).flatten(1)

    def init_state(self, memory: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return torch.tanh(self.init_h(memory)), torch.tanh(self.init_c(memory))

    def step(self, memory: torch.Tensor, state: tuple[torch.Tensor, ...], tokens: torch.Tensor
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...], None]:
        h, c = self.cell(self.drop(self.embed(tokens)), state)
        return self.out(self.drop(h)), (h, c), None


class SoftAttention(CaptionModel):
    """At each word, an additive attention over the grid cells (with learned position embeddings) selects a
    gated context vector that enters the LSTM beside the previous word; ``step`` returns the weights."""

    def __init__(self, encoder: GridEncoder, vocab: list[str], grid_cells: int, embed: int = 128,
                 hidden: int = 256, attention: int = 64, dropout: float = 0.2) -> None:
        super().__init__(encoder, vocab, embed, dropout)
        c = encoder.out_channels
        self.pos = nn.Parameter(torch.randn(grid_cells, c) * 0.02)
        self.feat_att, self.hid_att = nn.Linear(c, attention), nn.Linear(hidden, attention)
        self.score = nn.Linear(attention, 1)
        self.gate = nn.Linear(hidden, c)
        self.init_h, self.init_c = nn.Linear(c, hidden), nn.Linear(c, hidden)
        self.cell = nn.LSTMCell(embed + c, hidden)
        self.out = nn.Linear(hidden + c, len(vocab))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, N, C + A)``: the grid cells with positions, and their attention keys (computed once per image)."""
        grid = self.encoder(images).flatten(2).transpose(1, 2)  # (B, N, C)
        grid = grid + self.pos[: grid.shape[1]]
        return torch.cat([grid, self.feat_att(grid)], 2)

    def init_state(self, memory: torch.Tensor) -> tuple[torch.Tensor, ...]:
        mean = memory[:, :, : self.gate.out_features].mean(1)
        return torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean))

    def step(self, memory: torch.Tensor, state: tuple[torch.Tensor, ...], tokens: torch.Tensor
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...], torch.Tensor]:
        h, c = state
        c_dim = self.gate.out_features
        memory, keys = memory[:, :, :c_dim], memory[:, :, c_dim:]
        alpha = self.score(torch.tanh(keys + self.hid_att(h)[:, None])).squeeze(2).softmax(1)  # (B, N)
        context = (alpha[:, :, None] * memory).sum(1) * torch.sigmoid(self.gate(h))
        h, c = self.cell(torch.cat([self.drop(self.embed(tokens)), context], 1), (h, c))
        return self.out(self.drop(torch.cat([h, context], 1))), (h, c), alpha
