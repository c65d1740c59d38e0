"""The video task: wires formats, clip sampling, models, loss, metric, records and drawing to the core.

Training draws one random clip per video per epoch; evaluation and prediction score ``--model-arg clips``
clips spread evenly over each video and average their probabilities (the video score). The loss is the
cross-entropy against the video's labels spread uniformly (plain cross-entropy for single-label data); a
two-stream model optimises the cross-entropy of each stream.
"""

from __future__ import annotations

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
    TaskDataset,
)
from cvkit_video import models, records
from cvkit_video.clips import ClipSpec
from cvkit_video.data import VideoDataset, collate_clips
from cvkit_video.decode import VIDEO_EXTENSIONS
from cvkit_video.draw import caption, prediction_lines
from cvkit_video.scoring import VideoScoring

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)
CPU_CHUNK = 32  # clips per forward pass in evaluation on CPU


class VideoTask(VideoScoring, Task):
    """Formats, embedded data, metric and record parsing come from :class:`VideoScoring` (torch-free)."""

    default_model = "slow"
    default_img_size = 48
    default_epochs = 30
    default_batch_size = 32
    default_lr = 2e-3
    default_optimizer = "adamw"
    default_weight_decay = 1e-4
    default_warmup_epochs = 1.0
    default_schedule = "cosine"
    default_input_size = (3, 8, 48, 48)
    mean = KINETICS_MEAN
    std = KINETICS_STD
    input_extensions = VIDEO_EXTENSIONS

    # ----------------------------------------------------------------- data
    def _spec(self, model: ModelConfig) -> ClipSpec:
        return ClipSpec.from_args(model.args, *models.modality(model.name))

    def dataset(self, raw: RawSplit, model: ModelConfig, train: bool) -> TaskDataset:
        order = str(raw.info.extra.get("frame_order", "natural"))
        return VideoDataset(raw.info, raw.sources, raw.targets, model, self._spec(model), train, order,
                            cache_key=raw.info.spec)

    def predict_dataset(self, sources: list[str], model: ModelConfig, info: DatasetInfo) -> TaskDataset:
        return VideoDataset(info, sources, None, model, self._spec(model), False, "natural", cache_key="predict")

    def collate(self, samples: list[Any]) -> Batch:
        clips, metas = collate_clips(samples)
        return Batch(clips, [list(s[1]) for s in samples], [], metas)

    # ---------------------------------------------------------------- model
    def model_names(self) -> list[str]:
        return list(models.NAMES)

    def build_model(self, config: ModelConfig, info: DatasetInfo) -> nn.Module:
        return models.build(config.name, len(info.classes), config.img_size, config.args, config.pretrained)

    def example_input(self, model: nn.Module, input_size: tuple[int, ...]) -> Any:
        return models.example_input(model, input_size)

    # -------------------------------------------------------- train / eval
    def train_step(self, model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.inputs.flatten(0, 1)  # one clip per video in training
        out = model(x)
        streams = out if isinstance(out, tuple) else (out,)
        target = _soft_targets(batch.targets, streams[0].shape[1], x.device)
        losses = [F.cross_entropy(logits.float(), target) for logits in streams]
        logs = {"loss": sum(losses)}
        if len(losses) == 2:
            logs |= {"rgb_loss": losses[0].detach(), "flow_loss": losses[1].detach()}
        return logs

    def predict_step(self, model: nn.Module, batch: Batch,
                     options: PredictOptions = NO_OPTIONS) -> list[dict[str, Any]]:
        x = batch.inputs
        b, k = x.shape[:2]
        flat = x.flatten(0, 1)
        # on CPU, big batches of clips run slower per clip (cache misses): forward them in chunks
        step = len(flat) if flat.is_cuda else CPU_CHUNK
        logits = torch.cat([model(flat[i: i + step]).float() for i in range(0, len(flat), step)])
        return records.predictions(logits.softmax(1).view(b, k, -1), batch.meta)

    # -------------------------------------------------------------- outputs
    def record(self, prediction: dict[str, Any], info: DatasetInfo,
               options: PredictOptions = NO_OPTIONS) -> dict[str, Any]:
        return records.to_record(prediction, info.classes, options.conf)

    def csv_rows(self, record: dict[str, Any], info: DatasetInfo | None = None) -> list[dict[str, Any]]:
        return [{"source": record["source"], "rank": r + 1, **t} for r, t in enumerate(record.get("topk", []))]

    def picture(self, source: str, info: DatasetInfo) -> np.ndarray:
        """A contact sheet of frames spread over the video (``--save-vis``, galleries)."""
        from cvkit_video.draw import video_contact_sheet

        return video_contact_sheet(source, {}, info)

    def draw(self, image: np.ndarray, prediction: dict[str, Any], info: DatasetInfo,
             options: PredictOptions = NO_OPTIONS) -> np.ndarray:
        return caption(image, prediction_lines(prediction, info))

    def draw_target(self, image: np.ndarray, target: Any, info: DatasetInfo) -> np.ndarray:
        return caption(image, [info.classes[i] for i in target][:3])


def _soft_targets(labels: list[list[int]], num_classes: int, device: torch.device) -> torch.Tensor:
    """Each video's labels with equal weight (one-hot for single-label videos)."""
    target = torch.zeros(len(labels), num_classes, device=device)
    for row, labs in enumerate(labels):
        if labs:
            target[row, labs] = 1.0 / len(labs)
    return target
