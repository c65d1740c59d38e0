"""The attention model's cell coordinates: the grid's own order, and what the model sees of them; its
question-conditioned (FiLM) grid blocks."""

from __future__ import annotations

import torch

from cvkit.nn.grid import cell_coordinates


def test_cell_coordinates_follow_the_flattened_grid():
    h, w = 3, 4
    cols = torch.arange(w).view(1, 1, 1, w).expand(1, 1, h, w).float()
    rows = torch.arange(h).view(1, 1, h, 1).expand(1, 1, h, w).float()
    flat_cols, flat_rows = cols.flatten(2)[0, 0], rows.flatten(2)[0, 0]
    xy = cell_coordinates(h, w)
    assert xy.shape == (h * w, 2)
    assert torch.allclose(xy[:, 0], (flat_cols + 0.5) * 2 / w - 1)  # x grows to the right
    assert torch.allclose(xy[:, 1], (flat_rows + 0.5) * 2 / h - 1)  # y grows downwards
    assert float(xy.abs().max()) < 1 and torch.allclose(xy.mean(0), torch.zeros(2), atol=1e-6)


def relative_model(**kw):
    from cvkit_vqa import models

    args = {"layers": 2, "relative": True, "encoder_width": 8, "hidden": 32, "embed": 8, "attention": 16, **kw}
    return models.build("attention", ["<pad>", "<unk>", "what", "left", "of"], ["circle", "square"], 32, args)


def test_relative_needs_a_first_hop():
    import pytest

    from cvkit.errors import UsageError

    with pytest.raises(UsageError, match="layers >= 2"):
        relative_model(layers=1)


def test_relative_term_can_express_the_dominant_axis_rule():
    """With the question's weights on ``(dx, dy, |dx|, |dy|)`` at ``(-1, 0, 0, -1)`` the direct term is
    ``-dx - |dy|`` squashed: positive exactly when the scenes' ``relation`` says "left" (dominant axis, ties to x),
    for an object cell (the gate) and up to ``rel_gain``."""
    from cvkit.vision.scenes import relation

    model = relative_model()
    with torch.no_grad():
        model.rel_w[0].bias.copy_(torch.tensor([-1.0, 0.0, 0.0, -1.0]))
        model.rel_gate[0].bias.fill_(20.0)  # every cell an object
    gen = torch.Generator().manual_seed(0)
    rel = torch.rand(1, 50, 2, generator=gen) * 2 - 1
    f = model.offset_features(rel)
    assert torch.equal(f, torch.cat([rel, rel.abs()], 2))
    score = model.relation_score(0, torch.zeros(1, 32), torch.zeros(1, 50, 32), f)[0, :, 0]
    assert torch.allclose(score, 8 * torch.tanh(16 * (-rel[0, :, 0] - rel[0, :, 1].abs())), atol=1e-5)
    for (dx, dy), m in zip(rel[0].tolist(), score.tolist(), strict=True):
        if abs(abs(dx) - abs(dy)) > 1e-3:
            assert (m > 0) == (relation({"x": dx, "y": dy}, {"x": 0.0, "y": 0.0}) == "left")


def test_relative_term_starts_neutral():
    model = relative_model()
    f = model.offset_features(torch.rand(2, 16, 2))
    assert torch.equal(model.relation_score(0, torch.randn(2, 32), torch.randn(2, 16, 32), f), torch.zeros(2, 16, 1))


def test_relative_cell_positions_stay_within_half_a_cell():
    model = relative_model()
    v = torch.randn(2, 16, 32) * 10
    with torch.no_grad():
        model.offset.weight.normal_(0, 5)
        where = model.cell_positions(v, 4, 4)
    centres = cell_coordinates(4, 4)
    assert where.shape == (2, 16, 2)
    assert float((where - centres).abs().max()) <= 0.25 + 1e-6  # half of a cell 0.5 wide
    assert not torch.allclose(where, centres.expand_as(where))


def test_relative_second_hop_follows_the_first_hops_position():
    """The second hop's attention depends on where the first hop looked: the same image and question give other
    second-hop weights when the first hop is steered to another cell."""
    model = relative_model().eval()
    torch.manual_seed(0)
    images, tokens = torch.randn(1, 3, 32, 32), torch.tensor([[2, 3, 4]])
    with torch.no_grad():
        model.rel_w[0].weight.normal_(0, 3)
        _, (first, second) = model.attend(images, tokens)
        model.att_score[0].bias.zero_()
        model.att_score[0].weight.zero_()  # the first hop now spreads evenly over the cells
        _, (flat, moved) = model.attend(images, tokens)
    assert torch.allclose(flat, torch.full_like(flat, 1 / flat.shape[1]))
    assert not torch.allclose(first, flat)
    assert not torch.allclose(second, moved, atol=1e-4)



def test_film_blocks_start_plain_and_then_follow_the_question():
    from cvkit_vqa.models import FilmBlock

    torch.manual_seed(0)
    block = FilmBlock(6, 4).eval()
    x, q = torch.randn(2, 6, 5, 5), torch.randn(2, 4)
    with torch.no_grad():
        assert torch.allclose(block(x, q), block(x, q.flip(0)))  # no question term before training
        block.film.weight.normal_()
        assert not torch.allclose(block(x, q), block(x, q.flip(0)))
        assert block(x, q).shape == x.shape


def test_film_is_checked_and_adds_features():
    import pytest

    from cvkit.errors import UsageError

    with pytest.raises(UsageError, match="film"):
        relative_model(film=-1)
    plain, film = relative_model(relative=False, layers=1), relative_model(relative=False, layers=1, film=2)
    assert not any("film" in k for k in plain.state_dict())  # the default model keeps its checkpoint layout
    assert len(film.film_blocks) == 2 and film.img.in_features == plain.img.in_features + 64
    tokens = torch.tensor([[2, 3, 4]])
    film.eval()
    with torch.no_grad():
        assert film(torch.randn(1, 3, 32, 32), tokens).shape == (1, 2)


def test_pair_attention_looks_from_the_named_object_in_the_asked_direction():
    """``pairs=true``: with the source score marking one cell (the named object), the gate marking two others
    (objects) and the question's direction weights set to "left" (``-dx - |dy|``), the attention lands on the
    object left of the named one; set to "right", on the other; with no direction (the start) on neither more."""
    model = relative_model(layers=1, relative=False, pairs=True).eval()
    n, h = 5, 32
    where = torch.tensor([[[0.0, 0.0], [-0.6, 0.1], [0.6, -0.1], [0.0, 0.9], [0.0, -0.9]]])  # named, left, right, ...
    v = torch.zeros(1, n, h)
    v[0, 0, 0] = 1.0  # feature 0: the named object
    v[0, 1:3, 1] = 1.0  # feature 1: an object
    with torch.no_grad():
        for lin in (model.pair_src, model.pair_dst, model.pair_score, model.pair_gate, model.pair_w):
            lin.weight.zero_()
            lin.bias.zero_()
        model.pair_src.weight[0, 0] = 3.0
        model.pair_score.weight[0, 0] = 10.0  # source: the named cell
        model.pair_gate.weight[0, 1] = 40.0
        model.pair_gate.bias.fill_(-20.0)  # gate: object cells only
        q = torch.zeros(1, h)
        neutral = model.pair_attention(q, v, where)[0]
        assert torch.allclose(neutral[1], neutral[2])
        model.pair_w.bias.copy_(torch.tensor([-1.0, 0.0, 0.0, -1.0]))
        left = model.pair_attention(q, v, where)[0]
        model.pair_w.bias.copy_(torch.tensor([1.0, 0.0, 0.0, -1.0]))
        right = model.pair_attention(q, v, where)[0]
    assert torch.allclose(left.sum(), torch.tensor(1.0)) and torch.allclose(right.sum(), torch.tensor(1.0))
    assert left[1] > 0.9 and right[2] > 0.9


def test_pairs_start_without_a_direction():
    model = relative_model(layers=1, relative=False, pairs=True)
    assert not model.pair_w.weight.any() and not model.pair_w.bias.any()


def test_pair_local_cells_see_only_their_neighbourhood():
    """``pair_local=true``: the pair hop's cells come from their own small network, whose 15-px receptive field
    keeps a cell blind to pixels two cells away (so the named object can only be found where it is)."""
    from cvkit_vqa import models

    model = models.build("attention", ["<pad>", "<unk>", "what"], ["circle", "square"], 64,
                         {"pairs": True, "pair_local": True, "hidden": 32, "embed": 8, "attention": 16}).eval()
    x = torch.randn(1, 3, 64, 64)
    y = x.clone()
    y[:, :, :8, :8] += 5.0  # the top-left cell only
    feats = []

    def keep(_module, _inputs, output):
        feats.append(output.detach())

    handle = model.pair_local.register_forward_hook(keep)
    with torch.no_grad():
        model(x, torch.tensor([[2]]))
        model(y, torch.tensor([[2]]))
    handle.remove()
    a, b = feats
    assert a.shape[2:] == (8, 8)
    changed = (a - b).abs().amax(1)[0] > 1e-6
    assert changed[0, 0] and not changed[2:, :].any() and not changed[:, 2:].any()
