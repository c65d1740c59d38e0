"""Weight initialisation shared by the models trained from scratch (classification, video)."""

from __future__ import annotations

from torch import nn


def init_weights(model: nn.Module) -> nn.Module:
    """Kaiming for convolutions, Xavier for linear layers; norms start at identity (zero-init ones excepted)."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model
