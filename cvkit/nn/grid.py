"""Image encoders that return a grid of feature vectors, for the sequence tasks (captioning, VQA) (torch).

``GridEncoder(name)`` maps normalised images ``(B, 3, H, W)`` to ``(B, C, h, w)``:

- ``small`` (default): four 3x3 convolutions (BatchNorm, ReLU; the last three with stride 2, so 64 px give an
  8x8 grid) on the image plus two coordinate channels (x and y in [-1, 1]), which make "left of" and "above"
  learnable for a network that is otherwise translation-invariant; ``depth`` (model argument ``encoder_depth``)
  adds ``depth - 1`` convolutions to each of the two coarsest stages;
- any torchvision classification backbone by name (``resnet18``, ``mobilenet_v3_small``, ...), cut before its
  global pooling. ``weights`` (a cvkit classify checkpoint) initialises it: every tensor whose name and shape
  match is copied, so a backbone trained with ``cvkit train classify --model resnet18`` plugs in as it is.

``freeze=True`` keeps the encoder's weights fixed (and its BatchNorm statistics: it stays in eval mode).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cvkit.errors import CvkitError, UsageError


def _conv(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class SmallGrid(nn.Module):
    """The default encoder: coordinate channels + four convolutions, stride 8 overall."""

    def __init__(self, width: int = 32, coords: bool = True, depth: int = 1) -> None:
        super().__init__()
        self.coords = coords
        w = width
        layers = _conv(3 + 2 * coords, w, 1)
        for stage, (c_in, c_out) in enumerate(((w, 2 * w), (2 * w, 3 * w), (3 * w, 4 * w))):
            layers += _conv(c_in, c_out, 2)
            # ``depth`` > 1: extra 3x3 convolutions in the two coarsest stages, where they are cheap, widen the
            # receptive field (17 px at depth 1, 41 px at depth 2 for the 8x8 grid of a 64-px image)
            for _ in range((max(1, int(depth)) - 1) if stage else 0):
                layers += _conv(c_out, c_out, 1)
        self.body = nn.Sequential(*layers)
        self.out_channels = 4 * w
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(with_coordinates(x) if self.coords else x)


def with_coordinates(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W)`` -> ``(B, C + 2, H, W)``: the pixels' x and y in [-1, 1] appended as two channels."""
    b, _, h, w = x.shape
    ys = torch.linspace(-1, 1, h, device=x.device, dtype=x.dtype).view(1, 1, h, 1).expand(b, 1, h, w)
    xs = torch.linspace(-1, 1, w, device=x.device, dtype=x.dtype).view(1, 1, 1, w).expand(b, 1, h, w)
    return torch.cat([x, xs, ys], 1)


class TorchvisionGrid(nn.Module):
    """A torchvision classifier without its pooling and head (``features`` for VGG/MobileNet/EfficientNet/ConvNeXt
    style models, the stem and ``layer1..4`` for ResNets)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        import torchvision

        if name not in torchvision.models.list_models(module=torchvision.models):
            raise UsageError(f"encoder={name}: not a torchvision classification model")
        self.net = torchvision.models.get_model(name, weights=None)
        if not (hasattr(self.net, "features") or hasattr(self.net, "layer4")):
            raise UsageError(f"encoder={name}: cannot find its convolutional trunk (use a ResNet, VGG, MobileNet, "
                             "EfficientNet or ConvNeXt)")
        self.out_channels = int(self.forward(torch.zeros(1, 3, 64, 64)).shape[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        net = self.net
        if hasattr(net, "features"):
            return net.features(x)
        x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
        return net.layer4(net.layer3(net.layer2(net.layer1(x))))


class GridEncoder(nn.Module):
    """``name``: ``small`` or a torchvision backbone; ``weights``: a classify checkpoint to start from."""

    def __init__(self, name: str = "small", width: int = 32, coords: bool = True, weights: str | None = None,
                 freeze: bool = False, depth: int = 1) -> None:
        super().__init__()
        self.body: nn.Module = SmallGrid(width, coords, depth) if name == "small" else TorchvisionGrid(name)
        self.out_channels = self.body.out_channels
        self.frozen = freeze
        if weights:
            self.load_classify_weights(weights)
        if freeze:
            self.body.requires_grad_(False)

    def load_classify_weights(self, path: str) -> int:
        """Copy the tensors of a classify checkpoint whose names and shapes match; returns how many."""
        from cvkit.checkpoint import load_checkpoint

        state = load_checkpoint(path).state_dict
        target = self.body.net if isinstance(self.body, TorchvisionGrid) else self.body
        own = target.state_dict()
        found = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        if not found:
            raise CvkitError(f"{path}: no tensor fits the {type(self.body).__name__} encoder")
        target.load_state_dict(found, strict=False)
        return len(found)

    def train(self, mode: bool = True) -> GridEncoder:
        super().train(mode)
        if self.frozen:
            self.body.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def grid_encoder(args: dict[str, Any]) -> GridEncoder:
    """A :class:`GridEncoder` from model arguments ``encoder``, ``encoder_width``, ``coords``, ``encoder_weights``
    and ``freeze_encoder`` (the names the caption and vqa tasks accept with ``--model-arg``)."""
    return GridEncoder(str(args.get("encoder", "small")), int(args.get("encoder_width", 32)),
                       bool(args.get("coords", True)), args.get("encoder_weights"),
                       bool(args.get("freeze_encoder", False)), int(args.get("encoder_depth", 1)))


ENCODER_ARGS = ("encoder", "encoder_width", "coords", "encoder_weights", "freeze_encoder", "encoder_depth")


def cell_coordinates(h: int, w: int, device: torch.device | None = None, dtype: torch.dtype = torch.float32
                     ) -> torch.Tensor:
    """``(h * w, 2)``: the x and y of each cell's centre of an ``h`` x ``w`` grid, in [-1, 1], row by row (the
    order of ``grid.flatten(2)``). Appended to the cells' features they give a model that compares positions
    ("left of", "above") a fixed, linear code for them, where learned per-cell embeddings must learn it."""
    ys = (torch.arange(h, device=device, dtype=dtype) + 0.5) * (2.0 / h) - 1.0
    xs = (torch.arange(w, device=device, dtype=dtype) + 0.5) * (2.0 / w) - 1.0
    return torch.stack([xs.repeat(h), ys.repeat_interleave(w)], 1)
