"""Convolutional autoencoder: the encoder's last feature map is the code (512 x 1 x 1 for a ResNet-18 on 32-px
images, C x 4 x 4 for ``sample-cnn-gap``: a bottleneck), a decoder draws the image back, and the loss is the mean
squared error ||D(E(x)) - x||^2. ``cvkit visualize interpolate`` decodes the straight line between two images' codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from cvkit_pretrain.encoders import feature_map

from .base import Method, decode, decoder

if TYPE_CHECKING:
    from cvkit_pretrain.models import PretrainModel


class Autoencoder(Method):
    name = "autoencoder"

    def build(self, model: PretrainModel) -> None:
        # as wide as the encoder allows (256 for a ResNet, 64 for a 32-filter sample-cnn-gap): a decoder much
        # wider than its encoder costs most of every step
        model.head = decoder(model.dim, 3, model.fmap_size, model.img_size, width=max(64, min(256, 2 * model.dim)))

    def encode(self, model: PretrainModel, x: torch.Tensor) -> torch.Tensor:
        return feature_map(model.backbone, self.encoder_input(model, x))

    def decode(self, model: PretrainModel, code: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(decode(model.head, code, model.img_size))

    def loss(self, model: PretrainModel, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": F.mse_loss(self.decode(model, self.encode(model, x)).float(), x)}
