"""Detection models by name, one module per family, imported only when built.

Every model is an ``nn.Module`` whose ``forward(images, targets=None)`` takes a normalised ``(B, 3, S, S)`` batch
and returns a dict of losses when ``targets`` (``[{"boxes", "labels"}]`` in input pixels) are given, else its raw
outputs, which :func:`postprocess` turns into one ``{"boxes", "scores", "labels"}`` per image in input pixels
(0-based pixel-edge ``x1, y1, x2, y2``, class indices).
Models fitted in one pass (HOG) also have ``fit(batches)``.
"""

from __future__ import annotations

import importlib
from typing import Any

from torch import nn

from cvkit.errors import UsageError

TORCHVISION = (
    "fasterrcnn_mobilenet_v3_large_fpn",
    "fasterrcnn_resnet50_fpn",
    "retinanet_resnet50_fpn",
    "fcos_resnet50_fpn",
    "ssdlite320_mobilenet_v3_large",
)
MODELS: dict[str, str] = {
    "centernet": "cvkit_detect.models.centernet",
    "yolo-grid": "cvkit_detect.models.yolo_grid",
    **{name: "cvkit_detect.models.torchvision_models" for name in TORCHVISION},
    "hog-svm": "cvkit_detect.models.hog",
    "hog-people": "cvkit_detect.models.hog_people",
}


def build(name: str, num_classes: int, img_size: int, args: dict[str, Any], **kw: Any) -> nn.Module:
    """Build model ``name`` for ``num_classes`` classes (``kw``: ``pretrained``, ``mean``, ``std``, ``classes``)."""
    if name not in MODELS:
        raise UsageError(f"unknown detection model {name!r} (choose from {', '.join(MODELS)})")
    from cvkit_detect.datasets.dataset import DATA_ARGS

    module = importlib.import_module(MODELS[name])
    args = {k: v for k, v in args.items() if k not in DATA_ARGS}
    try:
        return module.build(num_classes, img_size, args, name=name, **kw)
    except TypeError as exc:
        raise UsageError(f"bad arguments for model {name!r} {args}: {exc}") from None


def postprocess(raw: Any, image_size: tuple[int, int]) -> list[dict[str, Any]]:
    """Per-image detections in input pixels from a model's eval-mode output: models that return raw maps (so that
    they export to ONNX/TorchScript) are decoded here; the others already return detections."""
    if isinstance(raw, dict) and "heatmap" in raw:
        from cvkit_detect.models.centernet import decode

        return decode(raw, image_size)
    if isinstance(raw, dict) and "grid" in raw:
        from cvkit_detect.models.yolo_grid import decode as decode_grid

        return decode_grid(raw, image_size)
    return list(raw)
