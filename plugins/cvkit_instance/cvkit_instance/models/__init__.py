"""Instance-segmentation models by name, imported only when built.

Every model is an ``nn.Module`` whose ``forward(images, targets=None)`` takes a normalised ``(B, 3, S, S)`` batch; with
``targets`` (``[{"boxes", "labels", "masks"}]`` in input pixels, class indices) it returns a dict of losses, without
it one ``{"boxes", "scores", "labels", "masks"}`` per image, masks being ``(N, 1, S, S)`` probabilities pasted into
the input image.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from cvkit.errors import UsageError

MODELS = ("maskrcnn-small", "maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2")


def build(name: str, num_classes: int, img_size: int, args: dict[str, Any], **kw: Any) -> nn.Module:
    if name not in MODELS:
        raise UsageError(f"unknown instance-segmentation model {name!r} (choose from {', '.join(MODELS)})")
    from cvkit_instance.datasets.dataset import DATA_ARGS
    from cvkit_instance.models import maskrcnn

    args = {k: v for k, v in args.items() if k not in DATA_ARGS}
    try:
        return maskrcnn.build(name, num_classes, img_size, args, **kw)
    except TypeError as exc:
        raise UsageError(f"bad arguments for model {name!r} {args}: {exc}") from None
