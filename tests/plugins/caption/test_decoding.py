"""Decoding strategies on a toy model whose next-word probabilities are a fixed table."""

from __future__ import annotations

import math

import torch
from torch import nn

from cvkit_caption.decoding import beam_search, sample

VOCAB = ["<pad>", "<start>", "<end>", "<unk>", "red", "blue"]
P = torch.full((6, 6), 1e-9)
P[1, 4], P[1, 5] = 0.6, 0.4  # first word: red (0.6) or blue (0.4)
P[4, 2], P[4, 4], P[4, 5] = 0.4, 0.3, 0.3  # after red: <end> 0.4
P[5, 2], P[5, 4], P[5, 5] = 0.9, 0.05, 0.05  # after blue: <end> 0.9
for t in (0, 2, 3):
    P[t, 2] = 1.0


class Table(nn.Module):
    vocab = VOCAB

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1)

    def init_state(self, memory: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (torch.zeros(memory.shape[0], 1),)

    def step(self, memory, state, tokens):
        return P[tokens].log(), state, torch.full((tokens.shape[0], 4), 0.25)


def test_greedy_takes_the_locally_best_word():
    out = sample(Table(), torch.zeros(2, 1))
    assert [d.tokens for d in out] == [[4], [4]]
    assert math.isclose(out[0].score, math.log(0.6 * 0.4), rel_tol=1e-6)
    assert out[0].attention.shape == (1, 4)


def test_beam_search_finds_the_more_likely_caption():
    out = beam_search(Table(), torch.zeros(3, 1), beam=2)
    assert [d.tokens for d in out] == [[5]] * 3
    assert math.isclose(out[0].score, math.log(0.4 * 0.9), rel_tol=1e-6)
    assert beam_search(Table(), torch.zeros(1, 1), beam=1)[0].tokens == [4]


def test_sampling_is_seeded_and_top_k_1_is_greedy():
    images = torch.zeros(64, 1)
    first = [d.tokens for d in sample(Table(), images, temperature=1.0, generator=torch.Generator().manual_seed(3))]
    again = [d.tokens for d in sample(Table(), images, temperature=1.0, generator=torch.Generator().manual_seed(3))]
    assert first == again
    assert {tuple(t) for t in first} >= {(4,), (5,)}  # both first words are drawn at temperature 1
    top1 = sample(Table(), images, temperature=1.0, top_k=1, generator=torch.Generator().manual_seed(3))
    assert all(d.tokens == [4] for d in top1)


def test_max_len_caps_the_caption():
    loop = P.clone()
    loop[4] = 1e-9
    loop[4, 4] = 1.0  # "red red red ..." never ends
    loop[1] = 1e-9
    loop[1, 4] = 1.0

    class Loop(Table):
        def step(self, memory, state, tokens):
            return loop[tokens].log(), state, None

    assert sample(Loop(), torch.zeros(1, 1), max_len=5)[0].tokens == [4] * 5
    assert beam_search(Loop(), torch.zeros(1, 1), beam=2, max_len=5)[0].tokens == [4] * 5
