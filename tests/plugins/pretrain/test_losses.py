"""NT-Xent against the formula written out term by term; Lab against OpenCV; the colourisation targets."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from cvkit_pretrain.lab import ab_bins, lab_to_rgb, rgb_to_lab
from cvkit_pretrain.methods.colorize import annealed_mean, rebalance_weights, soft_encode
from cvkit_pretrain.methods.contrastive import augment, nt_xent


def nt_xent_direct(z1: list[list[float]], z2: list[list[float]], t: float) -> float:
    """SimCLR's loss: views ordered x1_1, x2_1, x1_2, x2_2, ... (positives 2k-1 and 2k), summed over both
    orders of every positive pair, divided by 2N; l(i, j) = -log exp(s_ij/t) / sum_{k != i} exp(s_ik/t)."""
    views = []
    for a, b in zip(z1, z2, strict=True):
        views += [a, b]

    def cos(u: list[float], v: list[float]) -> float:
        return sum(x * y for x, y in zip(u, v, strict=True)) / math.sqrt(sum(x * x for x in u) * sum(y * y for y in v))

    def term(i: int, j: int) -> float:
        den = sum(math.exp(cos(views[i], views[k]) / t) for k in range(len(views)) if k != i)
        return -math.log(math.exp(cos(views[i], views[j]) / t) / den)

    n = len(z1)
    return sum(term(2 * k, 2 * k + 1) + term(2 * k + 1, 2 * k) for k in range(n)) / (2 * n)


@pytest.mark.parametrize("t", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("n", [2, 5])
def test_nt_xent_matches_the_formula(t: float, n: int) -> None:
    g = torch.Generator().manual_seed(n)
    z1, z2 = torch.randn(n, 7, generator=g, dtype=torch.float64), torch.randn(n, 7, generator=g, dtype=torch.float64)
    ours = float(nt_xent(z1, z2, t))
    assert ours == pytest.approx(nt_xent_direct(z1.tolist(), z2.tolist(), t), rel=1e-6)


def test_nt_xent_is_low_when_views_agree_and_high_when_not() -> None:
    z = torch.eye(4) * 5
    assert float(nt_xent(z, z, 0.1)) < 0.01
    assert float(nt_xent(z, z.roll(1, 0), 0.1)) > 5


def test_augment_keeps_shape_and_range_and_differs_between_views() -> None:
    torch.manual_seed(0)
    x = torch.rand(4, 3, 16, 16)
    args = {"crop_min": 0.3, "rotate": 20.0, "flip": True, "jitter": 0.4, "gray": 0.5, "noise": 0.05}
    a, b = augment(x, args), augment(x, args)
    assert a.shape == x.shape and float(a.min()) >= 0 and float(a.max()) <= 1
    assert float((a - b).abs().mean()) > 0.01


def test_lab_matches_opencv_and_round_trips() -> None:
    rgb = np.random.default_rng(0).random((8, 9, 3)).astype(np.float32)
    ref = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    ours = rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1).double()).permute(1, 2, 0).numpy()
    np.testing.assert_allclose(ours, ref, atol=0.3)  # OpenCV's float conversion interpolates a table
    back = lab_to_rgb(rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1).double())).permute(1, 2, 0).numpy()
    np.testing.assert_allclose(back, rgb, atol=1e-6)


def test_ab_bins_are_the_in_gamut_grid() -> None:
    bins = ab_bins()
    assert 250 <= len(bins) <= 330  # Zhang et al. count 313 with their gamut sampling
    assert torch.all(bins % 10 == 0) and float(bins.abs().max()) <= 110
    assert [0.0, 0.0] in bins.tolist()


def test_soft_encoding_weights_the_nearest_bins() -> None:
    bins = ab_bins()
    ab = torch.tensor([[0.0, 0.0], [23.0, -41.0]]).t().reshape(1, 2, 1, 2)
    enc = soft_encode(ab, bins)
    assert enc.shape == (1, len(bins), 1, 2)
    np.testing.assert_allclose(enc.sum(1).numpy(), 1.0, rtol=1e-6)
    assert int((enc[0, :, 0, 0] > 0).sum()) == 5
    nearest = bins[enc[0, :, 0, 1].argmax()]
    assert float((nearest - torch.tensor([23.0, -41.0])).norm()) == float((bins - torch.tensor([23.0, -41.0]))
                                                                          .norm(dim=1).min())


def test_rebalancing_has_unit_expectation_and_favours_rare_colours() -> None:
    bins = ab_bins()
    counts = torch.ones(len(bins))
    grey = int((bins.norm(dim=1)).argmin())
    counts[grey] = 1000.0
    w = rebalance_weights(counts, bins, 0.5)
    kernel = torch.exp(-torch.cdist(bins, bins) ** 2 / 50)
    smooth = kernel @ (counts / counts.sum())
    smooth = smooth / smooth.sum()
    assert float((smooth * w).sum()) == pytest.approx(1.0, rel=1e-5)
    assert float(w[grey]) < float(w.median())
    assert torch.allclose(rebalance_weights(counts, bins, 1.0), torch.full_like(w, float(w.new_tensor(1.0))))


def test_annealed_mean_of_a_peaked_distribution_is_its_bin() -> None:
    bins = ab_bins()
    logits = torch.full((1, len(bins), 1, 1), -50.0)
    logits[0, 17] = 50.0
    np.testing.assert_allclose(annealed_mean(logits, bins)[0, :, 0, 0].numpy(), bins[17].numpy(), atol=1e-4)
