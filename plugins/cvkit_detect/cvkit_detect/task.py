"""The detection task: what the core's loops need from object detection."""

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
from cvkit.vision import batch_augment
from cvkit.vision.backmap import boxes_to_original
from cvkit.vision.dataset import collate_samples
from cvkit.vision.draw import compare_boxes, draw_box_target, draw_detections, draw_limits
from cvkit_detect import models, records
from cvkit_detect.datasets.dataset import DetectionDataset, from_raw
from cvkit_detect.scoring import DetectScoring


class DetectTask(DetectScoring, Task):
    """Formats, embedded data, metric and record parsing come from :class:`DetectScoring` (torch-free)."""

    default_model = "centernet"
    default_img_size = 128
    default_epochs = 6
    default_batch_size = 16
    default_lr = 2e-3
    default_optimizer = "adamw"
    default_weight_decay = 1e-4
    default_warmup_epochs = 1.0
    default_schedule = "cosine"
    default_input_size = (3, 128, 128)

    def defaults_for(self, data: str, model: str) -> dict[str, Any]:
        """HOG models are fitted in one pass; OpenCV's people detector needs people at least 128 px tall."""
        out: dict[str, Any] = {}
        if model in ("hog-svm", "hog-people"):
            out["epochs"] = 1
        if model == "hog-people":
            out["img_size"] = 512
        return out

    # ----------------------------------------------------------------- data
    def dataset(self, raw: RawSplit, model: ModelConfig, train: bool) -> DetectionDataset:
        return from_raw(raw, model, train)

    def predict_dataset(self, sources: list[str], model: ModelConfig, info: DatasetInfo) -> DetectionDataset:
        return DetectionDataset(info, list(sources), None, model, train=False)

    def collate(self, samples: list[Any]) -> Batch:
        return collate_samples(samples)

    # ---------------------------------------------------------------- model
    def model_names(self) -> list[str]:
        return list(models.MODELS)

    def build_model(self, config: ModelConfig, info: DatasetInfo) -> nn.Module:
        return models.build(config.name, len(info.classes), config.img_size, config.args,
                            pretrained=config.pretrained, mean=config.mean, std=config.std,
                            classes=list(info.classes))

    def example_input(self, model: nn.Module, input_size: tuple[int, ...]) -> Any:
        return torch.zeros(1, *input_size)

    # -------------------------------------------------------- train / eval
    def train_step(self, model: nn.Module, batch: Batch, options: Any = None
                   ) -> dict[str, torch.Tensor]:
        """``options`` (cvkit.engine.mix.TrainOptions) carries the step's seed for the batch augmentation."""
        batch = batch_augment.apply(batch, options.seed if options is not None else 0)
        losses = model(batch.inputs, batch.targets)
        total = sum(losses.values())
        return {"loss": total, **{k: v.detach() for k, v in losses.items()}}

    def predict_step(self, model: nn.Module, batch: Batch, options: PredictOptions = NO_OPTIONS) -> list[Any]:
        size = (int(batch.inputs.shape[-2]), int(batch.inputs.shape[-1]))
        out = []
        for det, meta in zip(models.postprocess(model(batch.inputs), size), batch.meta, strict=True):
            boxes = boxes_to_original(det["boxes"], meta["input_size"], meta["orig_size"])
            scores, labels = det["scores"].detach().float().cpu(), det["labels"].detach().cpu().long()
            conf = options.conf
            if conf is not None:
                keep = scores >= conf
                boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
            out.append({"boxes": boxes, "scores": scores, "labels": labels})
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
        return draw_detections(image, prediction, info.classes, *draw_limits(options))

    def draw_target(self, image: np.ndarray, target: Any, info: DatasetInfo) -> np.ndarray:
        return draw_box_target(image, target, info.classes)

    def validation_picture(self, image: np.ndarray, prediction: Any, target: Any, info: DatasetInfo
                           ) -> ValidationPicture:
        """Missed objects and false positives (at the drawing threshold, IoU 0.5) are marked in red."""
        truth, pred, missed, false = compare_boxes(image, prediction, target, info.classes)
        return ValidationPicture(truth, pred, bool(missed or false), f"{missed} missed, {false} FP")
