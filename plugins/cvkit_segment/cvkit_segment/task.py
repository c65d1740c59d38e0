"""The semantic-segmentation task: what the core's loops need to give every pixel a class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
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
from cvkit.vision.backmap import labels_to_original
from cvkit.vision.dataset import collate_samples
from cvkit_segment import draw, models, records
from cvkit_segment.datasets.dataset import SegmentationDataset, from_raw
from cvkit_segment.datasets.target import load_label
from cvkit_segment.palette import VOID
from cvkit_segment.scoring import SegmentScoring

AUX_WEIGHT = 0.5


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Pixel-wise cross-entropy over the non-void pixels of the batch (0 with a gradient when all are void)."""
    if logits.shape[-2:] != target.shape[-2:]:
        logits = F.interpolate(logits, size=target.shape[-2:], mode="bilinear", align_corners=False)
    valid = int((target != VOID).sum())
    loss = F.cross_entropy(logits.float(), target, ignore_index=VOID, reduction="sum")
    return loss / max(1, valid)


class SegmentTask(SegmentScoring, Task):
    """Formats, embedded data, metric and record parsing come from :class:`SegmentScoring` (torch-free)."""

    default_model = "unet"
    default_img_size = 64
    default_epochs = 8
    default_batch_size = 32
    default_lr = 3e-3
    default_optimizer = "adamw"
    default_weight_decay = 1e-4
    default_warmup_epochs = 0.5
    default_schedule = "cosine"
    default_input_size = (3, 64, 64)

    # ----------------------------------------------------------------- data
    def dataset(self, raw: RawSplit, model: ModelConfig, train: bool) -> SegmentationDataset:
        return from_raw(raw, model, train)

    def predict_dataset(self, sources: list[str], model: ModelConfig, info: DatasetInfo) -> SegmentationDataset:
        return SegmentationDataset(info, list(sources), None, model, train=False)

    def collate(self, samples: list[Any]) -> Batch:
        return collate_samples(samples, stack_targets=True)

    # ---------------------------------------------------------------- model
    def model_names(self) -> list[str]:
        return list(models.MODELS)

    def build_model(self, config: ModelConfig, info: DatasetInfo) -> nn.Module:
        """Weights in channels-last layout: convolutions train about 1.5x faster on CPUs (oneDNN)."""
        model = models.build(config.name, len(info.classes), config.args, pretrained=config.pretrained)
        return model.to(memory_format=torch.channels_last)

    # -------------------------------------------------------- train / eval
    def train_step(self, model: nn.Module, batch: Batch, options: Any = None) -> dict[str, torch.Tensor]:
        """``options`` (cvkit.engine.mix.TrainOptions) carries the step's seed for the batch augmentation."""
        batch = batch_augment.apply(batch, options.seed if options is not None else 0)
        out = model(batch.inputs.contiguous(memory_format=torch.channels_last))
        if isinstance(out, dict):
            main = segmentation_loss(out["out"], batch.targets)
            if out.get("aux") is not None:
                aux = segmentation_loss(out["aux"], batch.targets)
                return {"loss": main + AUX_WEIGHT * aux, "loss_out": main.detach(), "loss_aux": aux.detach()}
            return {"loss": main}
        return {"loss": segmentation_loss(out, batch.targets)}

    def predict_step(self, model: nn.Module, batch: Batch, options: PredictOptions = NO_OPTIONS) -> list[Any]:
        logits = model(batch.inputs)
        if isinstance(logits, dict):
            logits = logits["out"]
        dtype = torch.uint8 if logits.shape[1] <= VOID else torch.int32
        return [{"labels": labels_to_original(logits[i], meta["orig_size"], dtype), "source": meta["source"]}
                for i, meta in enumerate(batch.meta)]

    # -------------------------------------------------------------- outputs
    def record(self, prediction: Any, info: DatasetInfo, options: PredictOptions = NO_OPTIONS) -> dict[str, Any]:
        """Per-class RLEs always; a label PNG only into ``options.save_masks`` (``predict --save-masks DIR``)."""
        png = None
        if options.save_masks is not None:
            png = records.png_name(Path(options.save_masks), options.stem or str(prediction.get("source", "")))
        return records.record(prediction, info, png)

    def csv_rows(self, record: dict[str, Any], info: DatasetInfo | None = None) -> list[dict[str, Any]]:
        return records.csv_rows(record)

    def coco_results(self, prediction: Any, info: DatasetInfo, image_id: Any) -> list[dict[str, Any]]:
        return records.coco_results(prediction, info, image_id)

    def draw(self, image: np.ndarray, prediction: Any, info: DatasetInfo,
             options: PredictOptions = NO_OPTIONS) -> np.ndarray:
        """The label map over the image (enlarged when small) with a legend of the classes shown."""
        from cvkit_segment.metrics.evaluator import as_labels

        return draw.draw_labels(image, as_labels(prediction), info.classes, info.extra.get("colours"))

    def draw_target(self, image: np.ndarray, target: Any, info: DatasetInfo) -> np.ndarray:
        labels = load_label(target, len(info.classes), info.extra.get("colours"))
        return draw.draw_labels(image, labels, info.classes, info.extra.get("colours"))

    def validation_picture(self, image: np.ndarray, prediction: Any, target: Any, info: DatasetInfo
                           ) -> ValidationPicture:
        """Wrongly labelled pixels outlined in red; wrong when the mean IoU of the classes shown is under 0.5."""
        from cvkit_segment.metrics.evaluator import as_labels

        colours = info.extra.get("colours")
        truth = load_label(target, len(info.classes), colours)
        gt, pred, miou = draw.compare(image, as_labels(prediction), truth, info.classes, colours)
        return ValidationPicture(gt, pred, miou < draw.MIN_IOU, f"mIoU {miou:.2f}")
