"""The multi-label task: several labels per image, one sigmoid score per class, per-class decision thresholds.

A task of its own rather than a flag on ``classify``: its targets (1 / -1 / 0 per class), loss, records and
metrics (VOC devkit AP, F1 at tuned thresholds, exact match) share nothing with single-label classification.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cvkit.errors import UsageError
from cvkit.model import unwrap
from cvkit.task import (
    NO_OPTIONS,
    Batch,
    DatasetInfo,
    ModelConfig,
    PredictOptions,
    RawSplit,
    Task,
    TaskDataset,
)
from cvkit.vision.draw import caption
from cvkit_multilabel import models
from cvkit_multilabel.data import MultiLabelDataset
from cvkit_multilabel.metric import MultiLabelEvaluator, default_metric
from cvkit_multilabel.scoring import MultiLabelScoring
from cvkit_multilabel.transforms import eval_transform, train_transform

LOSSES = ("bce", "focal", "asl")


class MultiLabelTask(MultiLabelScoring, Task):
    """Formats, embedded data, metric and record parsing come from :class:`MultiLabelScoring` (torch-free)."""

    default_model = "small-cnn"
    default_img_size = 64
    default_epochs = 20
    default_batch_size = 32
    default_lr = 2e-3
    default_optimizer = "adamw"
    default_weight_decay = 1e-4
    default_warmup_epochs = 1.0
    default_schedule = "cosine"
    default_input_size = (3, 224, 224)

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self._model: weakref.ref | None = None  # the model last evaluated: tuned thresholds are stored in it

    # ----------------------------------------------------------------- data
    def dataset(self, raw: RawSplit, model: ModelConfig, train: bool) -> TaskDataset:
        random = train and model.args.get("augment", "flip") != "none"
        transform = train_transform(model) if train else eval_transform(model)
        return MultiLabelDataset(raw.info, raw.sources, raw.targets, transform, random, raw.files)

    def predict_dataset(self, sources: list[str], model: ModelConfig, info: DatasetInfo) -> TaskDataset:
        return MultiLabelDataset(info, sources, None, eval_transform(model), False, cache=False)

    def collate(self, samples: list[Any]) -> Batch:
        images, targets, meta = zip(*samples, strict=True)
        t = None if targets[0] is None else torch.tensor(targets, dtype=torch.float32)
        return Batch(torch.stack(images), t, [], list(meta))

    # ---------------------------------------------------------------- model
    def model_names(self) -> list[str]:
        return [*models.OWN_MODELS, *models.torchvision_names()]

    def build_model(self, config: ModelConfig, info: DatasetInfo) -> nn.Module:
        return models.build(config.name, len(info.classes), config.args, config.pretrained)

    # -------------------------------------------------------- train / eval
    def train_step(self, model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        """Per-class sigmoid losses averaged over the counted (non-difficult) entries. ``--model-arg loss=``:
        ``bce`` (default); ``focal`` (sigmoid focal loss, ``gamma=2``); ``asl`` (asymmetric loss of Ridnik et al.
        2021: ``gamma_neg=4``, ``gamma_pos=0``, negatives' probabilities shifted down by ``clip=0.05``)."""
        logits = model(batch.inputs).float()
        y = (batch.targets > 0).float()
        weight = (batch.targets != 0).float()
        args = self._loss_args(model)
        kind = args.get("loss", "bce")
        if kind == "bce":
            per = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
        elif kind == "focal":
            from torchvision.ops import sigmoid_focal_loss

            per = sigmoid_focal_loss(logits, y, alpha=-1, gamma=float(args.get("gamma", 2.0)), reduction="none")
        elif kind == "asl":
            per = asymmetric_loss(logits, y, float(args.get("gamma_neg", 4.0)), float(args.get("gamma_pos", 0.0)),
                                  float(args.get("clip", 0.05)))
        else:
            raise UsageError(f"--model-arg loss={kind}: expected one of {', '.join(LOSSES)}")
        return {"loss": (per * weight).sum() / weight.sum().clamp_min(1.0)}

    def _loss_args(self, model: nn.Module) -> dict[str, Any]:
        return getattr(unwrap(model), "loss_args", {})

    def predict_step(self, model: nn.Module, batch: Batch,
                     options: PredictOptions = NO_OPTIONS) -> list[dict[str, Any]]:
        """Every class's probability, and the classes at or over their stored threshold (``predict --conf F``:
        over F for every class instead)."""
        m = unwrap(model)
        self._model = weakref.ref(m)
        probs = torch.sigmoid(model(batch.inputs).float()).cpu().numpy().astype(np.float64)
        thresholds = m.thresholds.cpu().numpy() if hasattr(m, "thresholds") else np.full(probs.shape[1], 0.5)
        if options.conf is not None:
            thresholds = np.full(probs.shape[1], float(options.conf))
        return [{"scores": p, "labels": np.nonzero(p >= thresholds)[0].tolist()} for p in probs]

    def evaluator(self, info: DatasetInfo, metric: str | None = None) -> MultiLabelEvaluator:
        return MultiLabelEvaluator(info.classes, metric or default_metric(info.extra.get("year")), self._store)

    def _store(self, tuned: np.ndarray) -> None:
        """Keep the thresholds tuned by an evaluation in the model that was evaluated, so that the checkpoint
        saved after the validation pass carries them (a file scored without a model changes nothing)."""
        m = self._model() if self._model is not None else None
        if m is not None and getattr(m, "thresholds", None) is not None and m.thresholds.numel() == len(tuned):
            m.thresholds.copy_(torch.as_tensor(tuned, dtype=m.thresholds.dtype))

    # -------------------------------------------------------------- outputs
    def record(self, prediction: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
        """``labels``: the classes at or over their threshold, highest score first; ``scores``: every class's
        probability, exactly as computed (so that ``eval --predictions`` reproduces the AP)."""
        s = prediction["scores"]
        chosen = sorted(prediction["labels"], key=lambda i: -s[i])
        return {"labels": [{"label": info.classes[i], "index": int(i), "score": float(s[i])} for i in chosen],
                "scores": {name: float(v) for name, v in zip(info.classes, s, strict=True)}}

    def csv_rows(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        chosen = {t["label"] for t in record.get("labels", [])}
        return [{"source": record["source"], "label": k, "score": v, "predicted": int(k in chosen)}
                for k, v in record.get("scores", {}).items()]

    def draw(self, image: np.ndarray, prediction: dict[str, Any], info: DatasetInfo) -> np.ndarray:
        s = prediction["scores"]
        lines = [f"{info.classes[i]} {s[i]:.2f}" for i in sorted(prediction["labels"], key=lambda i: -s[i])]
        return caption(image, lines or ["(no label)"])

    def draw_target(self, image: np.ndarray, target: Any, info: DatasetInfo) -> np.ndarray:
        lines = [info.classes[c] + (" (difficult)" if v == 0 else "") for c, v in enumerate(target) if v >= 0]
        return caption(image, lines or ["(no label)"])


def asymmetric_loss(logits: torch.Tensor, y: torch.Tensor, gamma_neg: float, gamma_pos: float,
                    clip: float) -> torch.Tensor:
    """Element-wise asymmetric loss: ``-y (1-p)^gamma_pos log p - (1-y) p_m^gamma_neg log(1-p_m)`` with the
    shifted probability ``p_m = max(p - clip, 0)`` (easy negatives contribute nothing)."""
    p = torch.sigmoid(logits)
    p_m = (p - clip).clamp_min(0.0) if clip > 0 else p
    pos = y * (1 - p).pow(gamma_pos) * torch.log(p.clamp_min(1e-8))
    neg = (1 - y) * p_m.pow(gamma_neg) * torch.log((1 - p_m).clamp_min(1e-8))
    return -(pos + neg)

