"""Classification models: the course's classifiers from k-NN to CNNs, and every torchvision classifier.

Every builder takes the number of classes, the input size and its own keyword arguments (``--model-arg``).
Models built here from scratch use Kaiming initialisation for convolutions and Xavier for linear layers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cvkit.errors import CvkitError, UsageError
from cvkit.nn.init import init_weights
from cvkit.nn.sample_cnn import sample_cnn_layers

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
OWN_MODELS = ("knn", "softmax", "svm", "mlp", "sample-cnn", "sample-cnn-gap", "sift-bow", "vit-tiny")




class Linear(nn.Module):
    """A linear classifier on raw pixels: ``softmax`` (cross-entropy) or ``svm`` (multiclass hinge loss)."""

    def __init__(self, in_features: int, num_classes: int, loss: str) -> None:
        super().__init__()
        self.loss = loss
        self.fc = nn.Linear(in_features, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


def mlp(in_features: int, num_classes: int, hidden: list[int] | int = 256, activation: str = "relu",
        dropout: float = 0.0) -> nn.Sequential:
    """Fully connected layers with the chosen nonlinearity between them."""
    if activation not in ACTIVATIONS:
        raise UsageError(f"--model-arg activation={activation}: expected one of {', '.join(ACTIVATIONS)}")
    sizes = [hidden] if isinstance(hidden, int) else list(hidden)
    layers: list[nn.Module] = [nn.Flatten()]
    prev = in_features
    for width in sizes:
        layers += [nn.Linear(prev, int(width)), ACTIVATIONS[activation]()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        prev = int(width)
    layers.append(nn.Linear(prev, num_classes))
    return init_weights(nn.Sequential(*layers))


def sample_cnn(img_size: int, num_classes: int, channels: int = 10, gap: bool = False) -> nn.Sequential:
    """The course's example network: [conv3x3-relu] x2, 2x2 max-pool, repeated until 4x4 spatial, then FC.

    On 32x32x3 with 10 filters: conv parameters 280, 910, 910, 910, 910, 910 and the FC layer 1610."""
    layers = sample_cnn_layers(img_size, channels)
    if gap:
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
    else:
        layers += [nn.Flatten(), nn.Linear(channels * 16, num_classes)]
    return init_weights(nn.Sequential(*layers))


class KNN(nn.Module):
    """k-nearest neighbours (L2) on pixels or on the features of a frozen ``backbone`` module.

    ``fit`` stores the training set as buffers, so the memory bank lives in the checkpoint. The output is the
    log of, per class, the fraction of the k neighbours voting for it (ties broken by the nearer neighbour),
    so that a softmax of the output gives back the vote fractions like any other classifier's logits."""

    def __init__(self, num_classes: int, k: int = 5, backbone: nn.Module | None = None) -> None:
        super().__init__()
        self.k, self.num_classes = k, num_classes
        self.backbone = backbone
        self.register_buffer("bank", torch.zeros(0, 0))
        self.register_buffer("bank_labels", torch.zeros(0, dtype=torch.long))

    fitted_in_one_pass = True  # cvkit.model protocol: fit(batches) instead of gradient descent

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if self.backbone is not None:
            x = self.backbone(x)
        return x.flatten(1).float()

    @torch.no_grad()
    def fit(self, batches: Iterator[Any]) -> None:
        """Store the features and labels of every training batch as the memory bank."""
        feats, labels = [], []
        for batch in batches:
            feats.append(self.forward_features(batch.inputs))
            labels.append(batch.targets)
        self.bank = torch.cat(feats)
        self.bank_labels = torch.cat(labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bank.numel() == 0:
            raise CvkitError("the k-NN model has not been fitted (train it with `cvkit train classify --model knn`)")
        d = torch.cdist(self.forward_features(x), self.bank)
        k = min(self.k, self.bank.shape[0])
        dist, idx = d.topk(k, largest=False)
        votes = torch.zeros(x.shape[0], self.num_classes, device=x.device)
        # nearer neighbours add a tiny extra weight so that ties go to the closest one
        weight = 1.0 + 1e-3 / (1.0 + dist)
        votes.scatter_add_(1, self.bank_labels[idx], weight)
        return (votes / votes.sum(1, keepdim=True)).clamp_min(1e-12).log()

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any, **kwargs: Any) -> None:
        for name in ("bank", "bank_labels"):
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name]))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def build(name: str, num_classes: int, img_size: int, args: dict[str, Any], pretrained: bool) -> nn.Module:
    """Build ``name``: one of OWN_MODELS or a torchvision classification model name."""
    args = {k: v for k, v in args.items() if k not in ("augment",)}
    pixels = 3 * img_size * img_size
    if name == "vit-tiny":
        from cvkit_classify.vit import vit_tiny

        _no_pretrained(name, pretrained)
        return vit_tiny(num_classes, img_size, **args)
    if name in ("softmax", "svm"):
        _no_pretrained(name, pretrained)
        return Linear(pixels, num_classes, "cross_entropy" if name == "softmax" else "hinge")
    if name == "mlp":
        _no_pretrained(name, pretrained)
        return mlp(pixels, num_classes, **args)
    if name in ("sample-cnn", "sample-cnn-gap"):
        _no_pretrained(name, pretrained)
        return sample_cnn(img_size, num_classes, gap=name.endswith("gap"), **args)
    if name == "knn":
        features = args.pop("features", "pixels")
        backbone = None
        if features != "pixels":
            backbone = torchvision_model(str(features), 1000, img_size, {}, pretrained)
            _strip_head(backbone)
            backbone.eval().requires_grad_(False)
        return KNN(num_classes, backbone=backbone, **args)
    if name == "sift-bow":
        from cvkit_classify.bow import build_sift_bow

        return build_sift_bow(num_classes, args, pretrained)
    return torchvision_model(name, num_classes, img_size, args, pretrained)


def torchvision_names() -> list[str]:
    import torchvision

    return torchvision.models.list_models(module=torchvision.models)


def torchvision_model(name: str, num_classes: int, img_size: int, args: dict[str, Any],
                      pretrained: bool) -> nn.Module:
    import torchvision

    if name not in torchvision_names():
        raise UsageError(f"unknown classification model {name!r}: see `cvkit models classify`")
    kwargs = dict(args)
    if name.startswith("vit_"):  # position embeddings are sized for the input
        kwargs.setdefault("image_size", img_size)
    if name in ("googlenet", "inception_v3"):
        kwargs.setdefault("aux_logits", False)
        kwargs.setdefault("init_weights", True)
    if not pretrained:
        return torchvision.models.get_model(name, weights=None, num_classes=num_classes, **kwargs)
    weights = torchvision.models.get_model_weights(name).DEFAULT
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not cached.exists():
        raise CvkitError(
            f"--pretrained {name}: weights not in the local torch hub cache; place {Path(weights.url).name} "
            f"(from {weights.url}) at {cached}"
        )
    if name in ("googlenet", "inception_v3"):
        kwargs.pop("aux_logits", None)
        kwargs.pop("init_weights", None)
    model = torchvision.models.get_model(name, weights=weights, **kwargs)
    if num_classes != 1000:
        _replace_head(model, num_classes)
    return model


def _last_linear(model: nn.Module) -> tuple[nn.Module, str, nn.Linear]:
    found = None
    for parent in model.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.Linear):
                found = (parent, child_name, child)
    if found is None:
        raise CvkitError(f"{type(model).__name__}: no linear classifier head to resize")
    return found


def _replace_head(model: nn.Module, num_classes: int) -> None:
    parent, child_name, head = _last_linear(model)
    new = nn.Linear(head.in_features, num_classes)
    init_weights(new)
    setattr(parent, child_name, new)


def _strip_head(model: nn.Module) -> None:
    parent, child_name, _ = _last_linear(model)
    setattr(parent, child_name, nn.Identity())


def _no_pretrained(name: str, pretrained: bool) -> None:
    if pretrained:
        raise UsageError(f"--pretrained: {name} is trained from scratch here; there are no pretrained weights")
