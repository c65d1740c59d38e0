"""The classification task: wires formats, models, transforms, loss, metric, records and drawing to the core."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cvkit.errors import UsageError
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
from cvkit_classify import models
from cvkit_classify.data import ImageDataset
from cvkit_classify.runtime import topk_record
from cvkit_classify.scoring import ClassifyScoring
from cvkit_classify.transforms import eval_transform, train_transform

TOPK = 5


class ClassifyTask(ClassifyScoring, Task):
    """Formats, embedded data, metric and record parsing come from :class:`ClassifyScoring` (torch-free)."""

    default_model = "mlp"
    default_img_size = 32
    default_epochs = 30
    default_batch_size = 64
    default_lr = 2e-3
    default_optimizer = "adamw"
    default_weight_decay = 1e-4
    default_warmup_epochs = 1.0
    default_schedule = "cosine"
    default_input_size = (3, 224, 224)
    train_options = ("label_smoothing", "mixup", "cutmix")  # the core's TrainOptions this train_step reads

    # ----------------------------------------------------------------- data
    def dataset(self, raw: RawSplit, model: ModelConfig, train: bool) -> TaskDataset:
        random = train and model.args.get("augment", "standard") != "none"
        return ImageDataset.from_raw(raw, train_transform(model) if train else eval_transform(model), random)

    def predict_dataset(self, sources: list[str], model: ModelConfig, info: DatasetInfo) -> TaskDataset:
        return ImageDataset(info, sources, None, eval_transform(model), cache=False, random_transforms=False)

    def collate(self, samples: list[Any]) -> Batch:
        images, labels, meta = zip(*samples, strict=True)
        return Batch(torch.stack(images), torch.tensor(labels, dtype=torch.long), [], list(meta))

    # ---------------------------------------------------------------- model
    def model_names(self) -> list[str]:
        return [*models.OWN_MODELS, *models.torchvision_names()]

    def build_model(self, config: ModelConfig, info: DatasetInfo) -> nn.Module:
        return models.build(config.name, len(info.classes), config.img_size, config.args, config.pretrained)

    # -------------------------------------------------------- train / eval
    def train_step(self, model: nn.Module, batch: Batch, options: Any = None) -> dict[str, torch.Tensor]:
        """Cross-entropy (hinge for ``svm``); ``options`` (cvkit.engine.mix.TrainOptions) may smooth the labels
        and mix the batch into soft targets (MixUp / CutMix)."""
        images, targets = batch.inputs, batch.targets
        smoothing = options.label_smoothing if options is not None else 0.0
        hinge = getattr(_unwrap(model), "loss", "cross_entropy") == "hinge"
        if hinge and options is not None and (smoothing or options.mixing):
            raise UsageError("--label-smoothing, --mixup and --cutmix need a cross-entropy model; "
                             "svm is trained with the hinge loss")
        if options is not None and options.mixing:
            images, targets = options.mix(images, targets)
        logits = model(images)
        if hinge:
            return {"loss": F.multi_margin_loss(logits, targets)}
        return {"loss": F.cross_entropy(logits, targets, label_smoothing=smoothing)}

    def predict_step(self, model: nn.Module, batch: Batch,
                     options: PredictOptions = NO_OPTIONS) -> list[dict[str, Any]]:
        probs = model(batch.inputs).float().softmax(1)
        scores, idx = probs.topk(min(TOPK, probs.shape[1]), dim=1)
        return [{"topk": list(zip(i.tolist(), s.tolist(), strict=True))} for i, s in zip(idx, scores, strict=True)]

    # -------------------------------------------------------------- outputs
    def record(self, prediction: dict[str, Any], info: DatasetInfo,
               options: PredictOptions = NO_OPTIONS) -> dict[str, Any]:
        indices, scores = zip(*prediction["topk"], strict=True) if prediction["topk"] else ((), ())
        return topk_record(list(indices), list(scores), info.classes)

    def csv_rows(self, record: dict[str, Any], info: DatasetInfo | None = None) -> list[dict[str, Any]]:
        return [{"source": record["source"], "rank": r + 1, **t} for r, t in enumerate(record.get("topk", []))]

    def draw(self, image: np.ndarray, prediction: dict[str, Any], info: DatasetInfo,
             options: PredictOptions = NO_OPTIONS) -> np.ndarray:
        lines = [f"{info.classes[i]} {s:.2f}" for i, s in prediction["topk"][:3]]
        return caption(image, lines)

    def draw_target(self, image: np.ndarray, target: Any, info: DatasetInfo) -> np.ndarray:
        return caption(image, [info.classes[target]])

    def validation_picture(self, image: np.ndarray, prediction: dict[str, Any], target: Any, info: DatasetInfo
                           ) -> Any:
        """The true class beside the top predictions, titled in red when the top-1 is wrong."""
        from cvkit_classify.draw import compare

        return compare(image, prediction, target, info.classes)


def _unwrap(model: nn.Module) -> nn.Module:
    return getattr(model, "module", model)
