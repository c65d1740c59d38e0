"""The course's small example network's convolutional trunk, shared by the tasks that build it (classify's
``sample-cnn`` classifier, pretrain's ``sample-cnn-gap`` encoder): [conv3x3-ReLU] x 2 then a 2x2 max-pool, repeated
until the map is 4 x 4. Returned as a list of layers, so each task puts it at the front of its own ``nn.Sequential``
and the state-dict names (``0.weight``, ``2.weight``, ...) are the same in both: a pretrained trunk loads into the
classifier by name."""

from __future__ import annotations

from torch import nn

from cvkit.errors import UsageError


def sample_cnn_layers(img_size: int, channels: int, name: str = "sample-cnn") -> list[nn.Module]:
    """The trunk's layers for ``img_size`` (a power of two, at least 8) and ``channels`` filters per conv; errors
    name the option as ``name``."""
    if img_size < 8 or img_size & (img_size - 1):
        raise UsageError(f"{name} needs a power-of-two --img-size of at least 8 (got {img_size})")
    if channels < 1:
        raise UsageError(f"--model-arg channels={channels}: expected a positive whole number")
    layers: list[nn.Module] = []
    c_in, size = 3, img_size
    while size > 4:
        layers += [nn.Conv2d(c_in, channels, 3, padding=1), nn.ReLU(inplace=True),
                   nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        c_in, size = channels, size // 2
    return layers
