"""The pretraining task: wires formats, the encoder and its pretext heads, the probe evaluator, records, drawing
and the task's own visualisations to the core."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from cvkit.data import load_split
from cvkit.errors import CvkitError
from cvkit.model import unwrap
from cvkit.task import (
    NO_OPTIONS,
    Batch,
    BuiltinDataset,
    DatasetFormat,
    DatasetInfo,
    ModelConfig,
    PredictOptions,
    RawSplit,
    Task,
    TaskDataset,
    VisualizeRequest,
)
from cvkit_pretrain import models
from cvkit_pretrain.data import PretrainDataset, evaluation_set, training_set
from cvkit_pretrain.datasets import BUILTINS, FORMATS
from cvkit_pretrain.encoders import SMALL
from cvkit_pretrain.methods import METHODS
from cvkit_pretrain.methods.colorize import Colorize, colourised
from cvkit_pretrain.metric import ProbeEvaluator

RANDOM_SEED = 0  # the random-init baseline encoder is always the same one
PRETEXT_SEED = 0  # the pretext loss on the scored images draws the same augmentations every evaluation


class PretrainTask(Task):
    default_model = "simclr"
    default_img_size = 32
    default_epochs = 30
    default_batch_size = 128
    default_lr = 1e-3
    default_optimizer = "adamw"
    default_weight_decay = 1e-4
    default_warmup_epochs = 1.0
    default_schedule = "cosine"
    default_input_size = (3, 32, 32)
    mean = (0.0, 0.0, 0.0)  # samples are images in [0, 1]: the model normalises them itself, as classify does
    std = (1.0, 1.0, 1.0)

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self._random: dict[str, nn.Module] = {}

    # ----------------------------------------------------------------- data
    def formats(self) -> dict[str, DatasetFormat]:
        return FORMATS

    def builtins(self) -> dict[str, BuiltinDataset]:
        return BUILTINS

    def dataset(self, raw: RawSplit, model: ModelConfig, train: bool) -> TaskDataset:
        if train:
            return training_set(raw, model.img_size, int(model.args.get("repeat", 1)))
        return evaluation_set(self._fit_split(raw), raw, model.img_size)

    def _fit_split(self, raw: RawSplit) -> RawSplit | None:
        """The labelled train split the probes are fitted on (None: hold out part of ``raw`` instead)."""
        if not raw.info.extra.get("labelled", bool(raw.info.classes)) or raw.info.split == "train":
            return None
        options: dict[str, Any] = {"skip_bad": True}
        if raw.info.extra.get("images"):
            options["images"] = raw.info.extra["images"]
        try:
            fit = load_split(self, raw.info.spec, "train", options)
        except CvkitError:
            return None
        return fit if list(fit.info.classes) == list(raw.info.classes) else None

    def predict_dataset(self, sources: list[str], model: ModelConfig, info: DatasetInfo) -> TaskDataset:
        return PretrainDataset(info, sources, None, model.img_size)

    def collate(self, samples: list[Any]) -> Batch:
        images, targets, meta = zip(*samples, strict=True)
        labels = torch.tensor([t["label"] for t in targets], dtype=torch.long)
        return Batch(torch.stack(images), labels, [], list(meta))

    # ---------------------------------------------------------------- model
    def model_names(self) -> list[str]:
        return list(METHODS)

    def build_model(self, config: ModelConfig, info: DatasetInfo) -> nn.Module:
        return models.build(config.name, config.img_size, config.args, len(info.classes))

    # -------------------------------------------------------- train / eval
    def train_step(self, model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        return model(batch.inputs, batch.targets)  # through forward, so that DistributedDataParallel syncs

    def _random_model(self, m: models.PretrainModel, device: torch.device) -> nn.Module:
        args = {"encoder": m.encoder.name, **m.method.args}
        if m.encoder.name == SMALL:
            args["channels"] = m.encoder.channels
        key = json.dumps([m.method_name, m.img_size, args, m.num_classes, str(device)], sort_keys=True, default=str)
        if key not in self._random:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(RANDOM_SEED)
                self._random[key] = models.build(m.method_name, m.img_size, args, m.num_classes).to(device).eval()
        return self._random[key]

    def predict_step(self, model: nn.Module, batch: Batch, options: PredictOptions = NO_OPTIONS) -> list[Any]:
        m: models.PretrainModel = unwrap(model)
        x = batch.inputs
        parts = [meta.get("part", "predict") for meta in batch.meta]
        preds: list[dict[str, Any]] = [{"features": f} for f in m.forward_features(x).float().cpu().numpy()]
        if any(p in ("fit", "score") for p in parts):
            rand = self._random_model(m, x.device).forward_features(x).float().cpu().numpy()
            for p, r in zip(preds, rand, strict=True):
                p["random_features"] = r
        scored = [i for i, p in enumerate(parts) if p == "score"]
        if scored:
            devices = [x.device] if x.device.type == "cuda" else []
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(PRETEXT_SEED)
                loss = float(m.pretext_loss(x[scored], batch.targets[scored])["loss"])
            for i in scored:
                preds[i]["pretext_loss"] = loss
        if isinstance(m.method, Colorize) and "predict" in parts:
            for p, ab in zip(preds, m.method.colours(m, x).cpu().numpy(), strict=True):
                p["ab"] = ab
        return preds

    def evaluator(self, info: DatasetInfo, metric: str | None = None) -> ProbeEvaluator:
        return ProbeEvaluator(labelled=bool(info.classes) and bool(info.extra.get("labelled", True)))

    def read_predictions_file(self, path: Path, info: DatasetInfo) -> Iterator[tuple[str, Any]] | None:
        raise CvkitError(f"{path}: pretrain is evaluated from a checkpoint (`cvkit eval --weights CKPT`): the "
                         "probes are fitted on the training images' features, which a predictions file lacks")

    # -------------------------------------------------------------- outputs
    def record(self, prediction: dict[str, Any], info: DatasetInfo,
               options: PredictOptions = NO_OPTIONS) -> dict[str, Any]:
        return {"embedding": [round(float(v), 6) for v in prediction["features"]]}

    def parse_record(self, record: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
        return {"features": np.asarray(record.get("embedding", []), np.float32)}

    def csv_rows(self, record: dict[str, Any], info: DatasetInfo | None = None) -> list[dict[str, Any]]:
        return [{"source": record["source"], **{f"f{i}": v for i, v in enumerate(record.get("embedding", []))}}]

    def draw(self, image: np.ndarray, prediction: dict[str, Any], info: DatasetInfo,
             options: PredictOptions = NO_OPTIONS) -> np.ndarray:
        """Colourisation models draw the image recoloured from its own lightness; the others write the size of
        the embedding on the image."""
        if prediction.get("ab") is not None:
            rgb = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255.0
            out = colourised(rgb, torch.as_tensor(prediction["ab"]))
            return (out.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        img = image.copy()
        cv2.putText(img, f"{len(prediction['features'])}-d", (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (255, 255, 255), 1, cv2.LINE_AA)
        return img

    def scripts(self) -> dict[str, Callable[[VisualizeRequest], list[Path]]]:
        from cvkit_pretrain.scripts import SCRIPTS

        return dict(SCRIPTS)
