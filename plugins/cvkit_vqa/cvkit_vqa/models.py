"""VQA models: an image encoder (:mod:`cvkit.nn.grid`), a question encoder and a classifier over the answers.

- ``ibowimg``: bag of words (mean of word embeddings) concatenated with the pooled image features, one linear
  layer to the answers (Zhou et al. 2015's simple baseline).
- ``lstm-fusion``: an LSTM question vector fused with the pooled image vector by element-wise product
  (``--model-arg fusion=concat`` to concatenate), then an MLP.
- ``attention``: question-guided soft attention over the image grid (stacked attention, Yang et al. 2016):
  each of ``layers`` (default 1) attention steps weighs the grid cells by their match with the current query,
  adds the attended image vector to the query; the final query goes through an MLP. ``grid_coords=true`` adds
  each cell's x and y to its features.

Ablations for every model: ``use_image=false`` (question only) and ``use_question=false`` (image only) replace
that input by zeros. Model arguments also include ``embed``, ``hidden``, ``dropout`` and the encoder's
(``encoder``, ``encoder_width``, ``coords``, ``encoder_weights``, ``freeze_encoder``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cvkit.errors import UsageError
from cvkit.nn.grid import ENCODER_ARGS, GridEncoder, cell_coordinates, grid_encoder

MODELS = ("attention", "lstm-fusion", "ibowimg")
DATA_ARGS = ("min_count", "max_vocab", "num_answers")


class VqaModel(nn.Module):
    """Base: word embedding, the vocabulary and answer list (plain attributes, rebuilt from the checkpoint's
    dataset info), the ablation switches, and the image encoder."""

    backbone_modules = ("encoder",)

    def __init__(self, encoder: GridEncoder, vocab: list[str], answers: list[str], embed: int = 128,
                 hidden: int = 256, dropout: float = 0.2, use_image: bool = True, use_question: bool = True) -> None:
        super().__init__()
        self.vocab, self.answers = list(vocab), list(answers)
        self.use_image, self.use_question = bool(use_image), bool(use_question)
        self.encoder = encoder
        self.embed = nn.Embedding(len(vocab), embed, padding_idx=0)
        self.drop = nn.Dropout(dropout)
        self.hidden = hidden

    def image_grid(self, images: torch.Tensor, owner: torch.Tensor | None = None) -> torch.Tensor:
        """The encoder's grid ``(N, C, h, w)``; with ``owner`` (N,) each image is encoded once and its grid
        repeated for each of its questions."""
        grid = self.encoder(images)
        if owner is not None:
            grid = grid[owner]
        return grid if self.use_image else torch.zeros_like(grid)

    def question_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """The question as the model may see it: without the question (the image-only ablation) every question
        becomes the empty one, so not even its length reaches the model."""
        return tokens if self.use_question else torch.zeros_like(tokens)

    def words(self, tokens: torch.Tensor) -> torch.Tensor:
        e = self.embed(tokens)
        return e if self.use_question else torch.zeros_like(e)


class BowImg(VqaModel):
    def __init__(self, encoder: GridEncoder, vocab: list[str], answers: list[str], **kw: Any) -> None:
        super().__init__(encoder, vocab, answers, **kw)
        self.out = nn.Linear(self.embed.embedding_dim + encoder.out_channels, len(answers))

    def forward(self, images: torch.Tensor, tokens: torch.Tensor, owner: torch.Tensor | None = None) -> torch.Tensor:
        tokens = self.question_tokens(tokens)
        mask = (tokens != 0).float()[:, :, None]
        bow = (self.words(tokens) * mask).sum(1) / mask.sum(1).clamp_min(1)
        img = self.image_grid(images, owner).mean((2, 3))
        return self.out(self.drop(torch.cat([bow, img], 1)))


class QuestionLSTM(nn.Module):
    def __init__(self, embed: int, hidden: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)

    def forward(self, words: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        lengths = (tokens != 0).sum(1).clamp_min(1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(words, lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return h[-1]


class LstmFusion(VqaModel):
    def __init__(self, encoder: GridEncoder, vocab: list[str], answers: list[str], fusion: str = "product",
                 **kw: Any) -> None:
        super().__init__(encoder, vocab, answers, **kw)
        if fusion not in ("product", "concat"):
            raise UsageError(f"fusion={fusion}: expected product or concat")
        self.fusion = fusion
        h = self.hidden
        self.question = QuestionLSTM(self.embed.embedding_dim, h)
        self.img = nn.Linear(encoder.out_channels, h)
        self.classifier = nn.Sequential(nn.Linear(h * (2 if fusion == "concat" else 1), h), nn.ReLU(inplace=True),
                                        nn.Dropout(kw.get("dropout", 0.2)), nn.Linear(h, len(answers)))

    def forward(self, images: torch.Tensor, tokens: torch.Tensor, owner: torch.Tensor | None = None) -> torch.Tensor:
        tokens = self.question_tokens(tokens)
        q = self.question(self.drop(self.words(tokens)), tokens)
        v = torch.tanh(self.img(self.image_grid(images, owner).mean((2, 3))))
        fused = q * v if self.fusion == "product" else torch.cat([q, v], 1)
        return self.classifier(self.drop(fused))


class StackedAttention(VqaModel):
    """``grid_coords``: each cell's x and y (:func:`cvkit.nn.grid.cell_coordinates`) join its features, beside
    the learned position embeddings."""

    def __init__(self, encoder: GridEncoder, vocab: list[str], answers: list[str], grid_cells: int,
                 layers: int = 1, attention: int = 128, grid_coords: bool = False, **kw: Any) -> None:
        super().__init__(encoder, vocab, answers, **kw)
        h = self.hidden
        self.grid_coords = bool(grid_coords)
        self.question = QuestionLSTM(self.embed.embedding_dim, h)
        self.pos = nn.Parameter(torch.randn(grid_cells, encoder.out_channels) * 0.02)
        self.img = nn.Linear(encoder.out_channels + 2 * self.grid_coords, h)
        self.att_img = nn.ModuleList(nn.Linear(h, attention) for _ in range(layers))
        self.att_q = nn.ModuleList(nn.Linear(h, attention) for _ in range(layers))
        self.att_score = nn.ModuleList(nn.Linear(attention, 1) for _ in range(layers))
        self.classifier = nn.Sequential(nn.Linear(h, h), nn.ReLU(inplace=True), nn.Dropout(kw.get("dropout", 0.2)),
                                        nn.Linear(h, len(answers)))

    def attend(self, images: torch.Tensor, tokens: torch.Tensor, owner: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The final query and the attention weights ``(B, cells)`` of each layer."""
        grid = self.image_grid(images, owner)
        gh, gw = grid.shape[2:]
        grid = grid.flatten(2).transpose(1, 2) + self.pos[: gh * gw]
        if self.grid_coords:
            xy = cell_coordinates(gh, gw, grid.device, grid.dtype)
            grid = torch.cat([grid, xy.expand(grid.shape[0], -1, -1)], 2)
        v = torch.tanh(self.img(grid))  # (B, N, h)
        tokens = self.question_tokens(tokens)
        u = self.question(self.drop(self.words(tokens)), tokens)
        weights = []
        for wi, wq, ws in zip(self.att_img, self.att_q, self.att_score, strict=True):
            p = ws(self.drop(torch.tanh(wi(v) + wq(u)[:, None]))).squeeze(2).softmax(1)
            weights.append(p)
            u = u + (p[:, :, None] * v).sum(1)
        return u, weights

    def forward(self, images: torch.Tensor, tokens: torch.Tensor, owner: torch.Tensor | None = None) -> torch.Tensor:
        return self.classifier(self.drop(self.attend(images, tokens, owner)[0]))


def build(name: str, vocab: list[str], answers: list[str], img_size: int, args: dict[str, Any]) -> VqaModel:
    own = {k: v for k, v in args.items() if k not in DATA_ARGS and k not in ENCODER_ARGS}
    encoder = grid_encoder(args)
    try:
        if name == "ibowimg":
            return BowImg(encoder, vocab, answers, **own)
        if name == "lstm-fusion":
            return LstmFusion(encoder, vocab, answers, **own)
        if name == "attention":
            with torch.no_grad():
                was = encoder.training
                cells = int(encoder.eval()(torch.zeros(1, 3, img_size, img_size)).flatten(2).shape[2])
                encoder.train(was)
            return StackedAttention(encoder, vocab, answers, cells, **own)
    except TypeError as exc:
        raise UsageError(f"--model-arg for {name}: {exc}") from None
    raise UsageError(f"unknown vqa model {name!r} (choose from {', '.join(MODELS)})")


def soft_targets(answers: list[list[dict[str, Any]]], index: dict[str, int], normalize: Any) -> torch.Tensor:
    """Per question, min(1, count / 3) for each answer of the list (counting the normalised ground-truth
    answers), normalised to a distribution; all zeros when no ground-truth answer is in the list."""
    out = torch.zeros(len(answers), len(index))
    for i, entries in enumerate(answers):
        counts: dict[int, int] = {}
        for e in entries:
            k = index.get(normalize(e["answer"]))
            if k is not None:
                counts[k] = counts.get(k, 0) + 1
        for k, c in counts.items():
            out[i, k] = min(1.0, c / 3)
    return out / out.sum(1, keepdim=True).clamp_min(1e-12)


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against soft targets, averaged over the questions that have one."""
    has = target.sum(1) > 0
    if not bool(has.any()):
        return logits.sum() * 0.0
    return -(target[has] * F.log_softmax(logits[has].float(), 1)).sum(1).mean()
