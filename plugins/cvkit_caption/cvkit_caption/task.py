"""The captioning task: wires formats, models, decoding, metrics, records and drawing to the core."""

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
)
from cvkit.text import Vocabulary
from cvkit_caption import models, records
from cvkit_caption.data import CaptionDataset, collate, pick_captions, vocabulary
from cvkit_caption.decoding import Decoded, beam_search, sample
from cvkit_caption.draw import draw_caption
from cvkit_caption.scoring import CaptionScoring

DECODE_KEYS = ("beam", "temperature", "top_k", "max_len", "seed")


def _unwrap(model: nn.Module) -> nn.Module:
    return getattr(model, "module", model)


class CaptionTask(CaptionScoring, Task):
    """Formats, embedded data, metric and record parsing come from :class:`CaptionScoring` (torch-free)."""

    default_model = "attention-lstm"
    default_img_size = 64
    default_epochs = 6
    default_batch_size = 50
    default_lr = 2e-3
    default_optimizer = "adamw"
    default_weight_decay = 0.0
    default_warmup_epochs = 0.5
    default_schedule = "cosine"
    default_input_size = (3, 64, 64)
    input_extensions = (".jpg", ".jpeg", ".png", ".bmp", ".webp")

    def defaults_for(self, data: str, model: str) -> dict[str, Any]:
        """Nearest-neighbour baselines are fitted in one pass; the other models' grid encoder gets a second
        convolution in its two coarsest stages (a 41-px receptive field per cell of 64-px images: shapes are
        named far sooner than with the 17-px one). The attention LSTM decodes with a beam of 3 (its recipe for
        ``builtin:scenes`` is in the scenes' card)."""
        if model in ("nn-pixels", "nn-cnn"):
            return {"epochs": 1}
        if model == "attention-lstm":
            return {"model_args": {"encoder_depth": 2, "beam": 3}}
        return {"model_args": {"encoder_depth": 2}}

    # ----------------------------------------------------------------- data
    def dataset(self, raw: RawSplit, model: ModelConfig, train: bool) -> CaptionDataset:
        return CaptionDataset(raw.info, raw.sources, raw.targets, model, train, raw.files)

    def predict_dataset(self, sources: list[str], model: ModelConfig, info: DatasetInfo) -> CaptionDataset:
        return CaptionDataset(info, list(sources), None, model, train=False)

    def collate(self, samples: list[Any]) -> Batch:
        images, targets, _, meta = collate(samples)
        return Batch(images, targets, [], meta)

    # ---------------------------------------------------------------- model
    def model_names(self) -> list[str]:
        return list(models.MODELS)

    def build_model(self, config: ModelConfig, info: DatasetInfo) -> nn.Module:
        vocab = vocabulary(info, config.args)
        if len(vocab) <= 4:
            raise UsageError(f"{info.spec}: the training captions have no word to learn")
        model = models.build(config.name, vocab.to_list(), config.img_size, config.args)
        model.decode_defaults = {k: config.args[k] for k in ("beam", "temperature", "top_k", "max_len")
                                 if k in config.args}
        model.captions_per_image = int(config.args.get("captions_per_image", 0) or 0)
        return model

    def example_input(self, model: nn.Module, input_size: tuple[int, ...]) -> Any:
        caps = torch.tensor([[1, 4, 2]])
        return (torch.zeros(1, *input_size), caps, torch.zeros(1, dtype=torch.long))

    # -------------------------------------------------------- train / eval
    def train_step(self, model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        caps, owner = batch.targets["captions"], batch.targets["owner"]
        per_image = int(getattr(_unwrap(model), "captions_per_image", 0) or 0)
        if per_image > 0:
            caps, owner = pick_captions(caps, owner, per_image)
        logits = model(batch.inputs, caps, owner)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), caps[:, 1:].reshape(-1), ignore_index=0)
        return {"loss": loss}

    def decode_options(self, model: nn.Module, options: PredictOptions = NO_OPTIONS) -> dict[str, Any]:
        """Decoding settings: ``cvkit predict --option KEY=VALUE`` over the model's ``--model-arg`` defaults over
        greedy decoding of at most 20 words. Keys: ``beam``, ``temperature``, ``top_k``, ``max_len``, ``seed``."""
        opts: dict[str, Any] = {"beam": 1, "temperature": 0.0, "top_k": 0, "max_len": 20, "seed": 0}
        opts.update(getattr(model, "decode_defaults", {}) or {})
        for key, value in (options.extra or {}).items():
            if key not in DECODE_KEYS:
                raise UsageError(f"--option {key}: caption decoding takes {', '.join(DECODE_KEYS)}")
            try:
                opts[key] = type(opts[key])(float(value) if isinstance(opts[key], int) else value)
            except (TypeError, ValueError):
                raise UsageError(f"--option {key}={value!r}: expected a number") from None
        return opts

    def predict_step(self, model: nn.Module, batch: Batch, options: PredictOptions = NO_OPTIONS
                     ) -> list[dict[str, Any]]:
        net = _unwrap(model)
        vocab = Vocabulary(net.vocab)
        if isinstance(net, models.NearestCaption):
            ids, dist = net(batch.inputs)
            decoded = [Decoded(vocab.encode(vocab.decode(row.tolist()), bos_eos=False), -float(d), None)
                       for row, d in zip(ids, dist, strict=True)]
        else:
            o = self.decode_options(net, options)
            if int(o["beam"]) > 1:
                decoded = beam_search(net, batch.inputs, int(o["beam"]), int(o["max_len"]))
            else:
                gen = None
                if float(o["temperature"]) > 0:
                    gen = torch.Generator(device=batch.inputs.device).manual_seed(int(o["seed"]))
                decoded = sample(net, batch.inputs, int(o["max_len"]), float(o["temperature"]), int(o["top_k"]),
                                 gen)
        out = []
        for d in decoded:
            words = vocab.decode(d.tokens)
            attention = None
            if d.attention is not None:
                a = d.attention.float().cpu().numpy()
                side = int(round(a.shape[1] ** 0.5))
                attention = a.reshape(a.shape[0], side, -1) if side * side == a.shape[1] else None
            out.append({"caption": " ".join(words), "tokens": words, "score": d.score, "attention": attention})
        return out

    # -------------------------------------------------------------- outputs
    def record(self, prediction: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
        return records.record(prediction)

    def csv_rows(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"source": record.get("source", ""), "caption": record.get("caption", ""),
                 "score": record.get("score")}]

    def coco_results(self, prediction: dict[str, Any], info: DatasetInfo, image_id: Any) -> list[dict[str, Any]]:
        return records.coco_results(prediction, image_id)

    def draw(self, image: np.ndarray, prediction: dict[str, Any], info: DatasetInfo) -> np.ndarray:
        return draw_caption(image, prediction)

    def draw_target(self, image: np.ndarray, target: Any, info: DatasetInfo) -> np.ndarray:
        return draw_caption(image, {"caption": (target or [""])[0]})
