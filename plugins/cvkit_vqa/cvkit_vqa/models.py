"""VQA models: an image encoder (:mod:`cvkit.nn.grid`), a question encoder and a classifier over the answers.

- ``ibowimg``: bag of words (mean of word embeddings) concatenated with the pooled image features, one linear
  layer to the answers (Zhou et al. 2015's simple baseline).
- ``lstm-fusion``: an LSTM question vector fused with the pooled image vector by element-wise product
  (``--model-arg fusion=concat`` to concatenate), then an MLP.
- ``attention``: question-guided soft attention over the image grid (stacked attention, Yang et al. 2016):
  each of ``layers`` (default 1) attention steps weighs the grid cells by their match with the current query,
  adds the attended image vector to the query; the final query goes through an MLP. ``grid_coords=true`` adds
  each cell's x and y to its features; ``film=K`` runs the grid through K question-conditioned (FiLM) residual
  blocks first; ``pairs=true`` adds a hop that attends over pairs of cells (the named object, the object in the
  asked direction from it).

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
from cvkit.nn.grid import ENCODER_ARGS, GridEncoder, cell_coordinates, grid_encoder, with_coordinates

MODELS = ("attention", "lstm-fusion", "ibowimg")
DATA_ARGS = ("min_count", "max_vocab", "num_answers", "mirror")


class VqaModel(nn.Module):
    """Base: word embedding, the vocabulary and answer list (plain attributes, rebuilt from the checkpoint's
    dataset info), the ablation switches, and the image encoder."""

    backbone_modules = ("encoder",)
    # ONNX export (cvkit.export_inputs): images and word indices (0 pads the end of a question) -> answer logits;
    # the batch and the question length are left dynamic
    input_names = ("image", "tokens")
    output_names = ("logits",)
    dynamic_axes = {"image": {0: "batch"}, "tokens": {0: "batch", 1: "words"}, "logits": {0: "batch"}}

    def __init__(self, encoder: GridEncoder, vocab: list[str], answers: list[str], embed: int = 128,
                 hidden: int = 256, dropout: float = 0.2, use_image: bool = True, use_question: bool = True) -> None:
        super().__init__()
        self.vocab, self.answers = list(vocab), list(answers)
        self.use_image, self.use_question = bool(use_image), bool(use_question)
        self.encoder = encoder
        self.embed = nn.Embedding(len(vocab), embed, padding_idx=0)
        self.drop = nn.Dropout(dropout)
        self.hidden = hidden
        self.img_size = 64  # the input size (set by ``build``)

    def verification_inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A second input set for the export check: two images, questions of 3 and 7 words (padded to 7)."""
        gen = torch.Generator().manual_seed(0)
        size = self.img_size
        tokens = torch.randint(1, len(self.vocab), (2, 7), generator=gen)
        tokens[0, 3:] = 0
        return torch.rand(2, 3, size, size, generator=gen), tokens

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
        """The hidden state after each question's last word (questions are padded with 0 at the end)."""
        lengths = (tokens != 0).sum(1).clamp_min(1)
        if torch.onnx.is_in_onnx_export() or torch.jit.is_tracing():
            # ONNX has no packed sequences: run over the padding and take each row's state at its last word (a
            # one-way LSTM's output there depends on the words before it only: the same state)
            out, _ = self.lstm(words)
            return out[torch.arange(out.shape[0], device=out.device), lengths - 1]
        packed = nn.utils.rnn.pack_padded_sequence(words, lengths.cpu(), batch_first=True, enforce_sorted=False)
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


class FilmBlock(nn.Module):
    """A residual block whose features the question scales and shifts (FiLM, Perez et al. 2018): 1x1 convolution
    (with the cells' x and y) and ReLU, 3x3 convolution, BatchNorm without its own affine, ``(1 + gamma) * x +
    beta`` from the question, ReLU, added to the input."""

    def __init__(self, width: int, question: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width + 2, width, 1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(width, affine=False)
        self.film = nn.Linear(question, 2 * width)
        nn.init.zeros_(self.film.weight)  # starts as a plain residual block
        nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        xy = cell_coordinates(h, w, x.device, x.dtype).t().reshape(1, 2, h, w).expand(b, -1, -1, -1)
        y = self.norm(self.conv2(F.relu(self.conv1(torch.cat([x, xy], 1)))))
        gamma, beta = self.film(q).chunk(2, 1)
        return x + F.relu((1 + gamma[:, :, None, None]) * y + beta[:, :, None, None])


class StackedAttention(VqaModel):
    """``grid_coords``: each cell's x and y (:func:`cvkit.nn.grid.cell_coordinates`) join its features, beside
    the learned position embeddings.

    ``relative=true`` (needs ``layers`` >= 2): every hop after the first receives the position the previous hop
    attended to as explicit coordinates. Each cell has a position, its centre plus a learned offset of at most
    half a cell (from its features, which know where inside the cell an object lies); the previous hop's
    position is the attention-weighted mean of those. Each cell's offset from it, ``(dx, dy, |dx|, |dy|)``,
    enters the hop's attention twice: through its hidden layer, and as a direct term ``gain * sigmoid(object) *
    tanh(w(question) . offset * scale)``, where the question picks ``w`` (``-dx - |dy|`` is "left of" along the
    dominant axis), ``scale`` (``rel_scale``, default 16: units of 1/32 of the image) lets a few pixels count
    from the first steps, and ``object`` (from the cell's features) keeps empty cells out of it. Each hop's
    attended vector joins the query through its own linear map, so the classifier can tell the named object's
    features from those of the object found relative to it.

    ``film=K`` (default 0): before the attention, the grid (projected to ``film_width`` channels, default 64) goes
    through ``K`` :class:`FilmBlock` s conditioned on the question, once per question; their output joins each
    cell's features. Convolutions that know what is asked can mark the named object and carry "it is to my
    right" to its neighbours (each 3x3 block reaches one cell further).

    ``pairs=true``: after the hops, one more attention whose weights come from a softmax over all pairs of cells
    (:meth:`pair_attention`), so finding the named object and looking from it in the asked direction is one
    differentiable step (no first hop that must land on the object before the second can learn); its attended
    vector joins the query through its own linear map. ``(dx, dy, |dx|, |dy|)`` offsets between cell positions
    (as for ``relative``), ``rel_scale`` and ``rel_gain`` are shared with ``relative``."""

    def __init__(self, encoder: GridEncoder, vocab: list[str], answers: list[str], grid_cells: int,
                 layers: int = 1, attention: int = 128, grid_coords: bool = False, relative: bool = False,
                 rel_scale: float = 16.0, rel_gain: float = 8.0, film: int = 0, film_width: int = 64,
                 pairs: bool = False, pair_local: bool = False, pair_words: bool = False, **kw: Any) -> None:
        super().__init__(encoder, vocab, answers, **kw)
        h = self.hidden
        self.film_layers = int(film)
        if self.film_layers < 0 or int(film_width) < 1:
            raise UsageError(f"film={film}, film_width={film_width}: expected film >= 0 and film_width >= 1")
        self.grid_coords, self.relative = bool(grid_coords), bool(relative)
        self.rel_scale, self.rel_gain = float(rel_scale), float(rel_gain)
        if self.relative and int(layers) < 2:
            raise UsageError("relative=true needs layers >= 2 (the first hop finds the object the others start from); "
                             "relative=false for one hop")
        self.question = QuestionLSTM(self.embed.embedding_dim, h)
        self.pos = nn.Parameter(torch.randn(grid_cells, encoder.out_channels) * 0.02)
        film_c = int(film_width) if self.film_layers else 0
        if self.film_layers:
            self.film_in = nn.Conv2d(encoder.out_channels, film_c, 1)
            self.film_blocks = nn.ModuleList(FilmBlock(film_c, h) for _ in range(self.film_layers))
        self.img = nn.Linear(encoder.out_channels + 2 * self.grid_coords + film_c, h)
        self.att_img = nn.ModuleList(nn.Linear(h, attention) for _ in range(layers))
        self.att_q = nn.ModuleList(nn.Linear(h, attention) for _ in range(layers))
        self.att_score = nn.ModuleList(nn.Linear(attention, 1) for _ in range(layers))
        self.pairs = bool(pairs)
        if self.relative or self.pairs:
            self.offset = nn.Linear(h, 2)
        if self.pairs:
            self.pair_src = nn.Linear(2 * h, attention)
            self.pair_dst = nn.Linear(2 * h, attention)
            self.pair_score = nn.Linear(attention, 2)
            self.pair_w = nn.Linear(h, 4)
            self.pair_gate = nn.Linear(h, 1)
            nn.init.zeros_(self.pair_w.weight)  # no preference for any direction before training
            nn.init.zeros_(self.pair_w.bias)
            self.pair_value = nn.Linear(h, h)
            # pair_words: the direction weights are a sum of one 4-vector per question word ("left" can say
            # (-1, 0, 0, -1) by itself, whatever the question vector keeps of it)
            self.pair_word_dir = nn.Embedding(len(vocab), 4, padding_idx=0) if pair_words else None
            if self.pair_word_dir is not None:
                nn.init.zeros_(self.pair_word_dir.weight)
            self.pair_local = None
            if pair_local:  # cells that see only their own 15-px neighbourhood (stride 8 like the grid)
                self.pair_local = nn.Sequential(
                    nn.Conv2d(5, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
                    nn.Conv2d(32, 64, 3, 2, 1), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                    nn.Conv2d(64, h, 3, 2, 1))
        if self.relative:
            self.att_rel = nn.ModuleList(nn.Linear(4, attention) for _ in range(layers - 1))
            self.rel_w = nn.ModuleList(nn.Linear(h, 4) for _ in range(layers - 1))
            self.rel_gate = nn.ModuleList(nn.Linear(h, 1) for _ in range(layers - 1))
            for lin in self.rel_w:  # no preference for any direction before training
                nn.init.zeros_(lin.weight)
                nn.init.zeros_(lin.bias)
            self.hop_value = nn.ModuleList(nn.Linear(h, h) for _ in range(layers))
        self.classifier = nn.Sequential(nn.Linear(h, h), nn.ReLU(inplace=True), nn.Dropout(kw.get("dropout", 0.2)),
                                        nn.Linear(h, len(answers)))

    def cell_positions(self, v: torch.Tensor, gh: int, gw: int) -> torch.Tensor:
        """``(B, N, 2)``: each cell's x and y in [-1, 1], its centre moved by at most half a cell."""
        xy = cell_coordinates(gh, gw, v.device, v.dtype)
        half = torch.tensor([1.0 / gw, 1.0 / gh], device=v.device, dtype=v.dtype)
        return xy + torch.tanh(self.offset(v)) * half

    @staticmethod
    def offset_features(rel: torch.Tensor) -> torch.Tensor:
        """``(..., 4)``: ``dx, dy, |dx|, |dy|`` of the offsets ``rel`` ``(..., 2)``."""
        return torch.cat([rel, rel.abs()], -1)

    def direction_term(self, weights: torch.Tensor, f: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        """``rel_gain * sigmoid(gate) * tanh(rel_scale * weights . f)`` over the last dimension of the (broadcast)
        direction ``weights`` and offset features ``f``: positive where an offset goes the way the weights say."""
        return self.rel_gain * torch.sigmoid(gate) * torch.tanh((weights * f).sum(-1) * self.rel_scale)

    def relation_score(self, hop: int, q: torch.Tensor, v: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        """``(B, N, 1)``: the direct relative-position term of hop ``hop + 1``'s attention score."""
        return self.direction_term(self.rel_w[hop](q)[:, None], f, self.rel_gate[hop](v)[:, :, 0]).unsqueeze(2)

    def attend(self, images: torch.Tensor, tokens: torch.Tensor, owner: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The final query and the attention weights ``(B, cells)`` of each layer."""
        tokens = self.question_tokens(tokens)
        u = q = self.question(self.drop(self.words(tokens)), tokens)
        grid = self.image_grid(images, owner)
        gh, gw = grid.shape[2:]
        film = None
        if self.film_layers:
            film = self.film_in(grid)
            for block in self.film_blocks:
                film = block(film, q)
        grid = grid.flatten(2).transpose(1, 2) + self.pos[: gh * gw]
        if self.grid_coords:
            xy = cell_coordinates(gh, gw, grid.device, grid.dtype)
            grid = torch.cat([grid, xy.expand(grid.shape[0], -1, -1)], 2)
        if film is not None:
            grid = torch.cat([grid, film.flatten(2).transpose(1, 2)], 2)
        v = torch.tanh(self.img(grid))  # (B, N, h)
        where = self.cell_positions(v, gh, gw) if self.relative else None
        weights: list[torch.Tensor] = []
        for n, (wi, wq, ws) in enumerate(zip(self.att_img, self.att_q, self.att_score, strict=True)):
            pre = wi(v) + wq(u)[:, None]
            extra = None
            if where is not None and n > 0:
                seen = (weights[-1][:, :, None] * where).sum(1, keepdim=True)  # the previous hop's position
                f = self.offset_features(where - seen)
                pre = pre + self.att_rel[n - 1](f)
                extra = self.relation_score(n - 1, q, v, f)
            score = ws(self.drop(torch.tanh(pre)))
            if extra is not None:
                score = score + extra
            p = score.squeeze(2).softmax(1)
            weights.append(p)
            seen_v = (p[:, :, None] * v).sum(1)
            u = u + (self.hop_value[n](seen_v) if self.relative else seen_v)
        if self.pairs:
            pv = v if self.pair_local is None else self.local_cells(images, owner, gh, gw)
            pw = where if where is not None and pv is v else self.cell_positions(pv, gh, gw)
            p = self.pair_attention(q, pv, pw, tokens)
            weights.append(p)
            u = u + self.pair_value((p[:, :, None] * pv).sum(1))
        return u, weights

    def local_cells(self, images: torch.Tensor, owner: torch.Tensor | None, gh: int, gw: int) -> torch.Tensor:
        """``(B, gh * gw, hidden)``: the ``pair_local`` network's cells (image plus x/y channels), per question."""
        local = self.pair_local(with_coordinates(images if self.use_image else torch.zeros_like(images)))
        if local.shape[2:] != (gh, gw):
            local = F.interpolate(local, (gh, gw), mode="bilinear", align_corners=False)
        cells = torch.tanh(local.flatten(2).transpose(1, 2))
        return cells if owner is None else cells[owner]

    def pair_attention(self, q: torch.Tensor, v: torch.Tensor, where: torch.Tensor,
                       tokens: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, N)``: attention over the cells ``j`` of one softmax over all pairs of cells ``(i, j)``, scored
        ``source_i + target_j + relation_ij`` and summed over ``i``: the question picks the object it names
        (``source``), the kind of object it asks about (``target``), and the direction from the first to the
        second (``relation``, the offset term of ``relative=true``)."""
        b, n, _ = v.shape
        vq = torch.cat([v, q[:, None].expand(-1, n, -1)], 2)
        src = self.pair_score(self.drop(torch.tanh(self.pair_src(vq))))[:, :, 0]  # (B, N)
        dst = self.pair_score(self.drop(torch.tanh(self.pair_dst(vq))))[:, :, 1]
        f = self.offset_features(where[:, None, :, :] - where[:, :, None, :])  # (B, i, j, 4): j's offset from i
        direction = self.pair_w(q)
        if self.pair_word_dir is not None and tokens is not None:
            direction = direction + self.pair_word_dir(tokens).sum(1)
        gate = self.pair_gate(v)[:, None, :, 0]  # (B, 1, N): j holds an object
        joint = src[:, :, None] + dst[:, None, :] + self.direction_term(direction[:, None, None], f, gate)
        return joint.flatten(1).softmax(1).view(b, n, n).sum(1)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor, owner: torch.Tensor | None = None) -> torch.Tensor:
        return self.classifier(self.drop(self.attend(images, tokens, owner)[0]))


def build(name: str, vocab: list[str], answers: list[str], img_size: int, args: dict[str, Any]) -> VqaModel:
    own = {k: v for k, v in args.items() if k not in DATA_ARGS and k not in ENCODER_ARGS}
    encoder = grid_encoder(args)
    model: VqaModel
    try:
        if name == "ibowimg":
            model = BowImg(encoder, vocab, answers, **own)
        elif name == "lstm-fusion":
            model = LstmFusion(encoder, vocab, answers, **own)
        elif name == "attention":
            with torch.no_grad():
                was = encoder.training
                cells = int(encoder.eval()(torch.zeros(1, 3, img_size, img_size)).flatten(2).shape[2])
                encoder.train(was)
            model = StackedAttention(encoder, vocab, answers, cells, **own)
        else:
            raise UsageError(f"unknown vqa model {name!r} (choose from {', '.join(MODELS)})")
    except TypeError as exc:
        raise UsageError(f"--model-arg for {name}: {exc}") from None
    model.img_size = img_size
    return model


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
