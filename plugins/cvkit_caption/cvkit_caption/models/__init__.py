"""Caption models by name. Model arguments (``--model-arg``): the encoder's (``encoder``, ``encoder_width``,
``coords``, ``encoder_weights``, ``freeze_encoder``; see :mod:`cvkit.nn.grid`), ``embed``, ``hidden``,
``attention``, ``dropout``, ``pool`` (show-tell), ``dim``/``layers``/``heads``/``ff``/``positions``
(transformer), and the data-side ``min_count``, ``max_vocab``, ``max_len`` and decoding defaults ``beam``,
``temperature``, ``top_k``, and ``captions_per_image`` (training: that many of each image's references per
step, chosen at random; 0 = all) (read by the dataset and the task, not passed to the network)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cvkit.errors import UsageError
from cvkit.nn.grid import ENCODER_ARGS, grid_encoder
from cvkit_caption.models.lstm import CaptionModel, ShowTell, SoftAttention
from cvkit_caption.models.neighbour import NearestCaption
from cvkit_caption.models.transformer import TransformerCaptioner

MODELS = ("attention-lstm", "show-tell", "transformer", "nn-pixels", "nn-cnn")
DATA_ARGS = ("min_count", "max_vocab", "max_len", "beam", "temperature", "top_k", "captions_per_image")


def build(name: str, vocab: list[str], img_size: int, args: dict[str, Any]) -> nn.Module:
    own = {k: v for k, v in args.items() if k not in DATA_ARGS and k not in ENCODER_ARGS}
    try:
        if name in ("nn-pixels", "nn-cnn"):
            return NearestCaption(vocab, "pixels" if name == "nn-pixels" else "cnn", **own)
        encoder = grid_encoder(args)
        with torch.no_grad():
            was = encoder.training
            cells = int(encoder.eval()(torch.zeros(1, 3, img_size, img_size)).flatten(2).shape[2])
            encoder.train(was)
        if name == "attention-lstm":
            return SoftAttention(encoder, vocab, cells, **own)
        if name == "show-tell":
            return ShowTell(encoder, vocab, **own)
        if name == "transformer":
            return TransformerCaptioner(encoder, vocab, cells, max_len=int(args.get("max_len", 20)) + 2, **own)
    except TypeError as exc:
        raise UsageError(f"--model-arg for {name}: {exc}") from None
    raise UsageError(f"unknown caption model {name!r} (choose from {', '.join(MODELS)})")


__all__ = ["MODELS", "CaptionModel", "NearestCaption", "build"]
