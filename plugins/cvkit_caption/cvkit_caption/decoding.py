"""Turning a caption model's next-word distributions into captions: greedy, temperature sampling with optional
top-k truncation, and beam search. Every strategy drives the same ``encode``/``init_state``/``step`` interface
and returns, per image, the token ids (without ``<start>``, ending before ``<end>``), the sum of the
log-probabilities of the chosen words including ``<end>`` (the caption's score), and the attention weights of
each word over the grid cells when the model has attention."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cvkit.text import Vocabulary


@dataclass
class Decoded:
    tokens: list[int]
    score: float
    attention: torch.Tensor | None  # (len(tokens), cells)


def _reorder(state: tuple[torch.Tensor, ...], index: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return tuple(s[index] for s in state)


@torch.no_grad()
def sample(model, images: torch.Tensor, max_len: int = 20, temperature: float = 0.0, top_k: int = 0,
           generator: torch.Generator | None = None) -> list[Decoded]:
    """Greedy decoding (``temperature`` 0) or sampling from ``softmax(logits / temperature)``, restricted to the
    ``top_k`` most likely words when ``top_k`` > 0; at most ``max_len`` words."""
    vocab = Vocabulary(model.vocab)
    memory = model.encode(images)
    state = model.init_state(memory)
    b = images.shape[0]
    tokens = torch.full((b,), vocab.start, dtype=torch.long, device=images.device)
    done = torch.zeros(b, dtype=torch.bool, device=images.device)
    scores = torch.zeros(b, device=images.device)
    out, attn = [], []
    for _ in range(max_len + 1):
        logits, state, alpha = model.step(memory, state, tokens)
        logp = logits.float().log_softmax(1)
        if temperature > 0:
            scaled = logits.float() / temperature
            if top_k > 0:
                kth = scaled.topk(min(top_k, scaled.shape[1]), 1).values[:, -1:]
                scaled = scaled.masked_fill(scaled < kth, float("-inf"))
            tokens = torch.multinomial(scaled.softmax(1), 1, generator=generator).squeeze(1)
        else:
            tokens = logp.argmax(1)
        scores += torch.where(done, 0.0, logp.gather(1, tokens[:, None]).squeeze(1))
        tokens = torch.where(done, vocab.pad, tokens)
        out.append(tokens)
        attn.append(alpha)
        done |= tokens == vocab.end
        if bool(done.all()):
            break
    seqs = torch.stack(out, 1).tolist()
    result = []
    for i, seq in enumerate(seqs):
        n = min(seq.index(vocab.end) if vocab.end in seq else len(seq), max_len)
        a = torch.stack([x[i] for x in attn[:n]]) if attn and attn[0] is not None and n else None
        result.append(Decoded(seq[:n], float(scores[i]), a))
    return result


@torch.no_grad()
def beam_search(model, images: torch.Tensor, beam: int = 3, max_len: int = 20) -> list[Decoded]:
    """The ``beam`` most likely partial captions are extended word by word; a caption ends at ``<end>``; the
    highest-scoring finished caption (sum of log-probabilities) wins."""
    vocab = Vocabulary(model.vocab)
    b, k, dev = images.shape[0], beam, images.device
    memory = model.encode(images)
    memory = memory.repeat_interleave(k, 0)
    state = model.init_state(memory)
    tokens = torch.full((b * k,), vocab.start, dtype=torch.long, device=dev)
    scores = torch.full((b, k), float("-inf"), device=dev)
    scores[:, 0] = 0.0
    seqs = torch.zeros(b * k, 0, dtype=torch.long, device=dev)
    attn: torch.Tensor | None = None
    finished: list[list[tuple[float, list[int], torch.Tensor | None]]] = [[] for _ in range(b)]
    for t in range(max_len + 1):
        logits, state, alpha = model.step(memory, state, tokens)
        logp = logits.float().log_softmax(1)
        v = logp.shape[1]
        if t == max_len:  # force the end
            forced = torch.full_like(logp, float("-inf"))
            forced[:, vocab.end] = logp[:, vocab.end]
            logp = forced
        cand = (scores.view(-1, 1) + logp).view(b, k * v)
        top, idx = cand.topk(k, 1)
        origin = (torch.arange(b, device=dev)[:, None] * k + idx // v).view(-1)
        words = (idx % v).view(-1)
        seqs = torch.cat([seqs[origin], words[:, None]], 1)
        if alpha is not None:
            step_attn = alpha[origin][:, None]
            attn = step_attn if attn is None else torch.cat([attn[origin], step_attn], 1)
        state = _reorder(state, origin)
        scores = top.clone()
        ended = (words == vocab.end).view(b, k)
        for i, j in ended.nonzero().tolist():
            if scores[i, j] > float("-inf") and len(finished[i]) < k:
                row = i * k + j
                finished[i].append((float(scores[i, j]), seqs[row, :-1].tolist(),
                                    attn[row, :-1] if attn is not None else None))
        scores = scores.masked_fill(ended, float("-inf"))
        tokens = words
        best_alive = scores.max(1).values
        if all(len(f) >= k or (f and max(s for s, _, _ in f) >= float(best_alive[i]))
               for i, f in enumerate(finished)):
            break
    return [Decoded(*_best(f)) for f in finished]


def _best(found: list[tuple[float, list[int], torch.Tensor | None]]) -> tuple[list[int], float, torch.Tensor | None]:
    score, tokens, attention = max(found, key=lambda x: x[0])
    return tokens, score, attention
