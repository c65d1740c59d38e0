"""Nearest-neighbour captioning baselines: the first reference caption of the closest training image."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cvkit.nn.grid import GridEncoder


class NearestCaption(nn.Module):
    """``features``: ``pixels`` (the image at 16x16) or ``cnn`` (a randomly initialised grid encoder, 2x2-pooled).
    ``fit`` stores the training features and captions as buffers, so the memory bank lives in the checkpoint."""

    fitted_in_one_pass = True

    def __init__(self, vocab: list[str], features: str = "pixels", seed: int = 0) -> None:
        super().__init__()
        self.vocab = list(vocab)
        self.features_kind = features
        if features == "cnn":
            torch.manual_seed(seed)
            self.encoder: nn.Module | None = GridEncoder("small")
        else:
            self.encoder = None
        self.register_buffer("bank", torch.zeros(0, 0))
        self.register_buffer("bank_tokens", torch.zeros(0, 0, dtype=torch.long))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        if self.encoder is None:
            return F.adaptive_avg_pool2d(images, 16).flatten(1)
        self.encoder.eval()
        return F.adaptive_avg_pool2d(self.encoder(images), 2).flatten(1)

    @torch.no_grad()
    def fit_bank(self, feats: torch.Tensor, tokens: torch.Tensor) -> None:
        self.bank, self.bank_tokens = feats, tokens

    @torch.no_grad()
    def fit(self, batches: Iterable[Any]) -> None:
        """One pass over the training batches: every image's features and its first reference caption."""
        feats, rows = [], []
        for batch in batches:
            feats.append(self.features(batch.inputs).cpu())
            caps, owner = batch.targets["captions"].cpu(), batch.targets["owner"].cpu()
            for k in range(len(batch.inputs)):
                rows.append(caps[int((owner == k).nonzero()[0])])
        width = max(len(r) for r in rows)
        self.fit_bank(torch.cat(feats), torch.stack([F.pad(r, (0, width - len(r))) for r in rows]))

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids of the nearest training caption and the distance to that image."""
        if self.bank.numel() == 0:
            from cvkit.errors import CvkitError

            raise CvkitError("the nearest-neighbour model has not been fitted (train it with `cvkit train caption`)")
        dist, idx = torch.cdist(self.features(images), self.bank).min(1)
        return self.bank_tokens[idx], dist

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any, **kwargs: Any) -> None:
        for name in ("bank", "bank_tokens"):
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name]))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
