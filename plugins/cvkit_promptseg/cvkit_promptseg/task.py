"""The promptable-segmentation task: what the core's loops need to segment what a point or a box points at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cvkit.errors import CvkitError, UsageError
from cvkit.task import NO_OPTIONS, Batch, DatasetInfo, ModelConfig, PredictOptions, RawSplit, Task
from cvkit_promptseg import draw, models, predictor, records
from cvkit_promptseg.datasets.dataset import PromptDataset, from_raw
from cvkit_promptseg.interactive import simulate, train_rounds
from cvkit_promptseg.prompts import EVAL_CLICKS
from cvkit_promptseg.scoring import PromptSegScoring

TRAIN_ROUNDS = (1, 2, 3)  # decoder rounds per training step (first prompt + corrections), drawn uniformly


class PromptSegTask(PromptSegScoring, Task):
    """Formats, embedded data, metric and record parsing come from :class:`PromptSegScoring` (torch-free)."""

    default_model = "sam-tiny"
    default_img_size = 128
    default_epochs = 2  # 2 x 375 steps of 16 scenes: 6.5 min of training on 2 cores (the bench, with validation)
    default_batch_size = 16
    default_lr = 2e-3
    default_optimizer = "adamw"
    default_weight_decay = 1e-4
    default_warmup_epochs = 0.1
    default_schedule = "cosine"
    default_input_size = (3, 128, 128)

    # ----------------------------------------------------------------- data
    def defaults_for(self, data: str, model: str) -> dict[str, Any]:
        """``sam-tiny`` gets the focus window (``focus=48``; ``--model-arg focus=0`` leaves it out): with it, and
        the training's IoU and correction weights at 5 and 2, every figure on builtin:shapes rose over the earlier
        default in two seeds (1 click 0.849 -> 0.864 and 0.835 -> 0.860, 3 clicks 0.872 -> 0.885 and 0.866 ->
        0.881, box 0.863 -> 0.869 and 0.859 -> 0.861; measured on version 1's shrunken masks, docs/promptseg.md).
        Checkpoints keep their own arguments."""
        return {"model_args": {"focus": 48}} if model == "sam-tiny" else {}

    def dataset(self, raw: RawSplit, model: ModelConfig, train: bool) -> PromptDataset:
        return from_raw(raw, model, train)

    def predict_dataset(self, sources: list[str], model: ModelConfig, info: DatasetInfo) -> PromptDataset:
        return PromptDataset(info, list(sources), None, model, train=False)

    def collate(self, samples: list[Any]) -> Batch:
        targets = [s["target"] for s in samples]
        return Batch(inputs=torch.stack([s["image"] for s in samples]),
                     targets=None if any(t is None for t in targets) else targets,
                     indices=[int(s["index"]) for s in samples], meta=[s["meta"] for s in samples])

    # ---------------------------------------------------------------- model
    def model_names(self) -> list[str]:
        return list(models.MODELS)

    def build_model(self, config: ModelConfig, info: DatasetInfo) -> nn.Module:
        if config.pretrained:
            raise CvkitError("promptseg has no torchvision weights; pass an official Segment Anything file to "
                             "`cvkit predict promptseg --weights` or `cvkit eval promptseg --weights`")
        try:
            return models.build(config.name, config.img_size, dict(config.args))
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def foreign_checkpoint(self, path: Path) -> Any:
        """An official Segment Anything file as a checkpoint of this task (None for any other file)."""
        from cvkit_promptseg.models.checkpoint import official_checkpoint

        return official_checkpoint(path, self.name)

    def example_input(self, model: nn.Module, input_size: tuple[int, ...]) -> Any:
        """The image, two prompts of two points, their previous-mask logits and has-mask flags (export, counting)."""
        if models.is_official(model):
            raise CvkitError(model.not_exportable)
        return model.example_inputs(prompts=2, points=2)

    # -------------------------------------------------------- train / eval
    def train_step(self, model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        seed = int(torch.randint(0, 2**31 - 1, ()).item())  # follows the core's per-step seeding
        rng = np.random.default_rng(seed)
        rounds = TRAIN_ROUNDS[int(rng.integers(len(TRAIN_ROUNDS)))]
        return train_rounds(model, batch.inputs, batch.targets, batch.meta, rng, rounds)

    def predict_step(self, model: nn.Module, batch: Batch, options: PredictOptions = NO_OPTIONS) -> list[Any]:
        if batch.targets is not None:  # evaluation: clicks simulated from the annotated masks
            return simulate(model, batch.inputs, batch.targets, batch.meta, EVAL_CLICKS)
        extra = dict(options.extra or {})
        if _flag(extra.get("everything")):
            settings = {k: float(extra.get(k, v)) for k, v in predictor.EVERYTHING.items()}
            return predictor.predict_everything(model, batch.inputs, batch.meta, settings)
        from_file = predictor.read_points_file(extra["points_file"]) if extra.get("points_file") else ([], {})
        per_image = [predictor.prompts_for(m["source"], extra, from_file) for m in batch.meta]
        if not any(per_image):
            raise UsageError("promptseg predict needs prompts: --task-arg point=X,Y[,LABEL], --task-arg "
                             "box=X1,Y1,X2,Y2, --task-arg points-file=FILE or --task-arg everything=1")
        return predictor.predict_prompts(model, batch.inputs, batch.meta, per_image, _flag(extra.get("multimask")))

    # -------------------------------------------------------------- outputs
    def record(self, prediction: Any, info: DatasetInfo, options: PredictOptions = NO_OPTIONS) -> dict[str, Any]:
        return records.record(prediction)

    def csv_rows(self, record: dict[str, Any], info: DatasetInfo | None = None) -> list[dict[str, Any]]:
        return records.csv_rows(record)

    def draw(self, image: np.ndarray, prediction: Any, info: DatasetInfo,
             options: PredictOptions = NO_OPTIONS) -> np.ndarray:
        return draw.draw_prediction(image, prediction)

    def draw_target(self, image: np.ndarray, target: Any, info: DatasetInfo) -> np.ndarray:
        return draw.draw_target(image, {**target, "size": target["size"] if target["size"][0] else
                                        list(image.shape[:2])})


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
