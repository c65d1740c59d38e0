"""Training-side helpers of the caption task: the per-step choice of each image's references."""

from __future__ import annotations

import torch

from cvkit_caption.data import pick_captions

CAPS = torch.tensor([[1, 5, 2, 0, 0], [1, 6, 7, 2, 0], [1, 8, 2, 0, 0],  # image 0: three references
                     [1, 9, 9, 9, 2], [1, 4, 2, 0, 0],  # image 1: two
                     [1, 4, 4, 2, 0]])  # image 2: one
OWNER = torch.tensor([0, 0, 0, 1, 1, 2])


def rows(caps: torch.Tensor) -> list[tuple[int, ...]]:
    return [tuple(t for t in r if t) for r in caps.tolist()]


def test_at_most_k_references_of_each_image_in_image_order():
    original = rows(CAPS)
    seen = set()
    for seed in range(20):
        caps, owner = pick_captions(CAPS, OWNER, 1, torch.Generator().manual_seed(seed))
        assert owner.tolist() == [0, 1, 2]
        picked = rows(caps)
        assert all(original.index(r) in {0: (0, 1, 2), 1: (3, 4), 2: (5,)}[k] for k, r in enumerate(picked))
        seen.add(picked[0])
    assert len(seen) == 3  # every reference of image 0 gets its turn


def test_keeps_everything_when_k_covers_the_references():
    caps, owner = pick_captions(CAPS, OWNER, 5, torch.Generator().manual_seed(0))
    assert owner.tolist() == OWNER.tolist() and sorted(rows(caps)) == sorted(rows(CAPS))
    caps, owner = pick_captions(CAPS, OWNER, 2, torch.Generator().manual_seed(0))
    assert owner.tolist() == [0, 0, 1, 1, 2]


def test_padding_no_kept_caption_needs_is_dropped():
    caps = torch.tensor([[1, 5, 2, 0, 0, 0], [1, 5, 5, 5, 5, 2]])
    for seed in range(10):
        out, _ = pick_captions(caps, torch.tensor([0, 0]), 1, torch.Generator().manual_seed(seed))
        assert out.shape[1] == len(rows(out)[0])  # no padding column left
