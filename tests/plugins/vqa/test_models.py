"""The attention model's cell coordinates: the grid's own order, and what the model sees of them."""

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
