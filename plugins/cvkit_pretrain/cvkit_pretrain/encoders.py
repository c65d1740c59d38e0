"""The encoders, each exactly the trunk of a classifier that ``cvkit train classify`` builds under the same name,
so that a pretrained encoder initialises that classifier (``--weights``) tensor for tensor:

- a torchvision ResNet (``resnet18``, any ``resnet*``/``resnext*``/``wide_resnet*``) with its ``fc`` an identity:
  classify's ``--model resnet18`` minus its head. Last feature map at stride 32.
- ``sample-cnn-gap``: the course's small network, [conv3x3-ReLU] x 2 then 2x2 max-pool, repeated until the map is
  4 x 4, global average pooling; ``channels`` filters in every conv. Its tensors carry the names (positions) of
  classify's ``--model sample-cnn-gap --model-arg channels=N`` built at the same image size, whose linear head
  follows the pooling. It keeps PyTorch's default initialisation (classify's Kaiming start trained worse
  features with SimCLR in the same 3 minutes on digits: 5-NN 0.942 against 0.975). Far cheaper than a
  ResNet-18 on small images, and it keeps 32-px inputs at full resolution in its first block (a ResNet stem
  divides them by 4 at once).

The pooled output is the feature vector the probes read; the last feature map feeds the methods that decode
images (colourisation, autoencoder).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cvkit.errors import UsageError
from cvkit.nn.sample_cnn import sample_cnn_layers

FAMILIES = ("resnet", "resnext", "wide_resnet")
SMALL = "sample-cnn-gap"
DEFAULT_CHANNELS = 32


@dataclass(frozen=True)
class EncoderSpec:
    """What the encoder is: its name, its width (``sample-cnn-gap`` only) and the image size it is built for."""

    name: str
    img_size: int
    channels: int = DEFAULT_CHANNELS


def encoder_names() -> list[str]:
    import torchvision

    names = [n for n in torchvision.models.list_models(module=torchvision.models) if n.startswith(FAMILIES)]
    return [SMALL, *names]


def sample_cnn_trunk(img_size: int, channels: int) -> nn.Sequential:
    """The core's sample-CNN trunk (:mod:`cvkit.nn.sample_cnn`), then global average pooling and flatten: the
    tensor names of classify's ``sample-cnn-gap`` with the same ``channels``."""
    return nn.Sequential(*sample_cnn_layers(img_size, channels, f"encoder={SMALL}"), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten())


def build_encoder(spec: EncoderSpec) -> tuple[nn.Module, int, int]:
    """A randomly initialised encoder; returns it, its feature width and the side of its last feature map."""
    if spec.name == SMALL:
        return sample_cnn_trunk(spec.img_size, spec.channels), spec.channels, 4
    import torchvision

    if spec.name not in encoder_names():
        raise UsageError(f"--model-arg encoder={spec.name}: expected {SMALL} or a torchvision ResNet "
                         f"({', '.join(encoder_names()[1:])})")
    net = torchvision.models.get_model(spec.name, weights=None)
    dim = int(net.fc.in_features)
    net.fc = nn.Identity()
    return net, dim, max(1, -(-spec.img_size // 32))


def feature_map(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The encoder's last feature map, before global pooling."""
    if isinstance(net, nn.Sequential):
        return net[:-2](x)
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    return net.layer4(net.layer3(net.layer2(net.layer1(x))))

