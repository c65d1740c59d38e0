"""The instance-segmentation task: what the core's loops need to find every object and its pixels."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from cvkit.task import (
    NO_OPTIONS,
    Batch,
    DatasetInfo,
    ModelConfig,
    PredictOptions,
    RawSplit,
    Task,
    ValidationPicture,
)
from cvkit.vision.backmap import boxes_to_original, masks_to_rles
from cvkit.vision.dataset import collate_samples
from cvkit.vision.draw import draw_limits
from cvkit_instance import draw, models, records
from cvkit_instance.datasets.dataset import InstanceDataset, from_raw
from cvkit_instance.scoring import InstanceScoring

MASK_THRESHOLD = 0.5


class InstanceTask(InstanceScoring, Task):
    """Formats, embedded data, metric and record parsing come from :class:`InstanceScoring` (torch-free)."""

    default_model = "maskrcnn-small"
    default_img_size = 64
    default_epochs = 10
    default_batch_size = 16
    default_lr = 2e-3
    default_optimizer = "adamw"
    default_weight_decay = 1e-4
    default_warmup_epochs = 1.0
    default_schedule = "cosine"
    default_input_size = (3, 64, 64)

    # ----------------------------------------------------------------- data
    def dataset(self, raw: RawSplit, model: ModelConfig, train: bool) -> InstanceDataset:
        return from_raw(raw, model, train)

    def predict_dataset(self, sources: list[str], model: ModelConfig, info: DatasetInfo) -> InstanceDataset:
        return InstanceDataset(info, list(sources), None, model, train=False)

    def collate(self, samples: list[Any]) -> Batch:
        return collate_samples(samples)

    # ---------------------------------------------------------------- model
    def model_names(self) -> list[str]:
        return list(models.MODELS)

    def build_model(self, config: ModelConfig, info: DatasetInfo) -> nn.Module:
        return models.build(config.name, len(info.classes), config.img_size, config.args,
                            pretrained=config.pretrained)

    # -------------------------------------------------------- train / eval
    def train_step(self, model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        losses = model(batch.inputs, batch.targets)
        total = sum(losses.values())
        return {"loss": total, **{k: v.detach() for k, v in losses.items()}}

    def predict_step(self, model: nn.Module, batch: Batch, options: PredictOptions = NO_OPTIONS) -> list[Any]:
        out = []
        conf = options.conf
        for det, meta in zip(model(batch.inputs), batch.meta, strict=True):
            scores, labels = det["scores"].detach().float().cpu(), det["labels"].detach().cpu().long()
            keep = scores >= conf if conf is not None else torch.ones(len(scores), dtype=torch.bool)
            boxes = boxes_to_original(det["boxes"].detach().cpu()[keep], meta["input_size"], meta["orig_size"])
            masks = masks_to_rles(det["masks"][keep.to(det["masks"].device)], meta["orig_size"], MASK_THRESHOLD)
            out.append({"boxes": boxes, "scores": scores[keep], "labels": labels[keep], "masks": masks})
        return out

    # -------------------------------------------------------------- outputs
    def record(self, prediction: Any, info: DatasetInfo, options: PredictOptions = NO_OPTIONS) -> dict[str, Any]:
        return records.record(prediction, info)

    def csv_rows(self, record: dict[str, Any], info: DatasetInfo | None = None) -> list[dict[str, Any]]:
        return records.csv_rows(record)

    def coco_results(self, prediction: Any, info: DatasetInfo, image_id: Any) -> list[dict[str, Any]]:
        return records.coco_results(prediction, info, image_id)

    def draw(self, image: np.ndarray, prediction: Any, info: DatasetInfo,
             options: PredictOptions = NO_OPTIONS) -> np.ndarray:
        """Detections scoring at least ``--conf`` (``cvkit.vision.draw.DRAW_CONF`` without it), the best 50."""
        return draw.draw_prediction(image, prediction, info.classes, *draw_limits(options))

    def draw_target(self, image: np.ndarray, target: Any, info: DatasetInfo) -> np.ndarray:
        return draw.draw_target(image, target, info.classes)

    def validation_picture(self, image: np.ndarray, prediction: Any, target: Any, info: DatasetInfo
                           ) -> ValidationPicture:
        """Missed objects and false positives (at the drawing threshold, box IoU 0.5) are marked in red."""
        truth, pred, missed, false = draw.compare(image, prediction, target, info.classes)
        return ValidationPicture(truth, pred, bool(missed or false), f"{missed} missed, {false} FP")
