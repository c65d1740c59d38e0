"""The training loss ranks masks the way IoU does for the small objects of the task: an empty mask (what the
single-output token collapsed to under SAM's 20 x focal + dice when trained from scratch) must cost more than a
mask with half its pixels right, which costs more than the right mask."""

from __future__ import annotations

import torch

from cvkit_promptseg.interactive import mask_losses


def _logits(mask: torch.Tensor, sharp: float) -> torch.Tensor:
    """Confident low-resolution logits (stride 2 of the loss grid) of a boolean mask."""
    low = torch.nn.functional.avg_pool2d(mask[None, None].float(), 2)[0, 0]
    return ((low > 0.5).float() * 2 - 1) * sharp


def test_empty_costs_more_than_half_right_costs_more_than_right():
    for side, sharp in ((8, 5.0), (12, 3.0), (20, 8.0)):  # objects of 2-10 % of the loss grid
        gt = torch.zeros(64, 64)
        gt[10 : 10 + side, 20 : 20 + side] = 1
        half = gt.clone()
        half[10 : 10 + side, 20 + side : 20 + 2 * side] = 1  # as many extra pixels as right ones: IoU 0.5
        empty = torch.zeros(64, 64)
        logits = torch.stack([_logits(m, sharp) for m in (empty, half, gt)])[None]  # (1, 3, 32, 32)
        loss, iou = mask_losses(logits, gt[None])
        assert iou[0].tolist() == [0.0, 0.5, 1.0]
        assert loss[0, 0] > loss[0, 1] > loss[0, 2], (side, sharp, loss)
