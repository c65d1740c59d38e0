"""sRGB <-> CIE Lab (D65 white, as OpenCV and scikit-image convert) on torch tensors, and the quantised ab gamut
of Zhang et al.: a grid of 10-unit bins over a, b in [-110, 110] restricted to the bins some sRGB colour falls in."""

from __future__ import annotations

import functools

import torch

RGB_TO_XYZ = torch.tensor([[0.412453, 0.357580, 0.180423],
                           [0.212671, 0.715160, 0.072169],
                           [0.019334, 0.119193, 0.950227]], dtype=torch.float64)
WHITE = torch.tensor([0.950456, 1.0, 1.088754], dtype=torch.float64)
DELTA = 6.0 / 29.0
GRID = 10.0  # ab bin width
AB_RANGE = 110.0


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) sRGB in [0, 1] -> Lab (L in [0, 100], a and b roughly in [-110, 110])."""
    lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb.clamp(min=0) + 0.055) / 1.055) ** 2.4)
    m = (RGB_TO_XYZ / WHITE[:, None]).to(rgb)
    xyz = torch.einsum("ij,...jhw->...ihw", m, lin)
    f = torch.where(xyz > DELTA**3, xyz.clamp(min=1e-12) ** (1 / 3), xyz / (3 * DELTA**2) + 4 / 29)
    fx, fy, fz = f.unbind(-3)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], -3)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`rgb_to_lab`, clipped to [0, 1]."""
    L, a, b = lab.unbind(-3)
    fy = (L + 16) / 116
    f = torch.stack([fy + a / 500, fy, fy - b / 200], -3)
    xyz = torch.where(f > DELTA, f**3, 3 * DELTA**2 * (f - 4 / 29))
    m = torch.linalg.inv(RGB_TO_XYZ / WHITE[:, None]).to(lab)
    lin = torch.einsum("ij,...jhw->...ihw", m, xyz)
    rgb = torch.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin.clamp(min=0) ** (1 / 2.4) - 0.055)
    return rgb.clamp(0, 1)


@functools.lru_cache(maxsize=1)
def ab_bins() -> torch.Tensor:
    """(Q, 2) centres of the in-gamut ab bins, in a fixed order (row-major over the grid)."""
    steps = torch.linspace(0, 1, 33, dtype=torch.float64)
    r, g, b = torch.meshgrid(steps, steps, steps, indexing="ij")
    lab = rgb_to_lab(torch.stack([r, g, b]).reshape(3, -1, 1))
    ab = lab[1:].reshape(2, -1).t()
    n = int(2 * AB_RANGE / GRID) + 1
    cell = ((ab + AB_RANGE) / GRID).round().long().clamp(0, n - 1)
    used = torch.zeros(n, n, dtype=torch.bool)
    used[cell[:, 0], cell[:, 1]] = True
    ia, ib = used.nonzero(as_tuple=True)
    return torch.stack([ia, ib], 1).double().mul(GRID).sub(AB_RANGE).float()
