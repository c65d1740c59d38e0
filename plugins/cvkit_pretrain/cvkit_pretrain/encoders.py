"""The encoder: a torchvision ResNet without its classifier, exactly the trunk ``cvkit train classify --model NAME``
builds, so that a pretrained encoder initialises that classifier (``--weights``) tensor for tensor.

The pooled output (``backbone(x)``, the input of ResNet's ``fc``) is the feature vector the probes read; the last
feature map (stride 32) feeds the methods that decode images (colourisation, autoencoder).
"""

from __future__ import annotations

import torch
from torch import nn

from cvkit.errors import UsageError

FAMILIES = ("resnet", "resnext", "wide_resnet")


def encoder_names() -> list[str]:
    import torchvision

    return [n for n in torchvision.models.list_models(module=torchvision.models) if n.startswith(FAMILIES)]


def build_encoder(name: str) -> tuple[nn.Module, int]:
    """A randomly initialised ResNet ``name`` whose ``fc`` is an identity; returns it and its feature width."""
    import torchvision

    if name not in encoder_names():
        raise UsageError(f"--model-arg encoder={name}: expected a torchvision ResNet ({', '.join(encoder_names())})")
    net = torchvision.models.get_model(name, weights=None)
    dim = int(net.fc.in_features)
    net.fc = nn.Identity()
    return net, dim


def feature_map(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The last (stride-32) feature map of a ResNet trunk, before global pooling."""
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    return net.layer4(net.layer3(net.layer2(net.layer1(x))))


def random_encoder(name: str, seed: int = 0) -> tuple[nn.Module, int]:
    """The same architecture with a fixed random initialisation (the baseline of every evaluation)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_encoder(name)
