"""The VQA task: wires formats, models, loss, the official accuracy, records and drawing to the core."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch
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
)
from cvkit.text import Vocabulary, tokenize
from cvkit_vqa import models, records
from cvkit_vqa.accuracy import normalize_answer
from cvkit_vqa.data import VqaDataset, VqaImageDataset, split_source
from cvkit_vqa.scoring import VqaScoring

TOPK = 5


def vocabulary(info: DatasetInfo, args: dict[str, Any]) -> tuple[Vocabulary, list[str]]:
    """Question words seen ``min_count`` times (default 1) and the ``num_answers`` (default 1000) most frequent
    normalised training answers."""
    counts = info.extra.get("word_counts") or {}
    vocab = Vocabulary.build([[w] * int(c) for w, c in counts.items()], int(args.get("min_count", 1)),
                             int(args["max_vocab"]) if args.get("max_vocab") else None)
    answers = sorted(((a, int(c)) for a, c in (info.extra.get("answer_counts") or {}).items() if a),
                     key=lambda x: (-x[1], x[0]))
    return vocab, [a for a, _ in answers[: int(args.get("num_answers", 1000))]]


def encode_questions(questions: list[str], vocab: list[str], device: torch.device) -> torch.Tensor:
    v = Vocabulary(vocab)
    rows = [v.encode(tokenize(q), bos_eos=False) or [v.unk] for q in questions]
    out = torch.zeros(len(rows), max(len(r) for r in rows), dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r)
    return out.to(device)


class VqaTask(VqaScoring, Task):
    """Formats, embedded data, metric and record parsing come from :class:`VqaScoring` (torch-free)."""

    default_model = "attention"
    default_img_size = 64
    default_epochs = 20  # about 21-24 min on one CPU core for builtin:scenes (grouped by image: ~62 s an epoch)
    default_batch_size = 32  # training: images per step (each with its ~4.5 questions); eval: questions
    default_lr = 2e-3
    default_optimizer = "adamw"
    default_weight_decay = 0.0
    default_warmup_epochs = 0.5
    default_schedule = "cosine"
    default_input_size = (3, 64, 64)

    def defaults_for(self, data: str, model: str) -> dict[str, Any]:
        """The grid encoder gets a second convolution in its two coarsest stages (see the caption task). Two
        attention hops (``layers=2``), with cell coordinates (``grid_coords=true``) or with the second hop reading
        positions relative to the first (``relative=true``), were measured on the scenes too: the same accuracy
        and the same relation accuracy as one hop (docs/vqa.md), so ``attention`` keeps one stacked-attention hop.

        It gets, after that hop, the hop over pairs of cells with its own local cells and per-word direction
        weights (``pairs``, ``pair_local``, ``pair_words``): the one variant that answered the scenes' three-object
        relation questions above chance (docs/vqa.md)."""
        args: dict[str, Any] = {"encoder_depth": 2}
        if model == "attention":
            args.update(pairs=True, pair_local=True, pair_words=True)
        return {"model_args": args}

    # ----------------------------------------------------------------- data
    def dataset(self, raw: RawSplit, model: ModelConfig, train: bool) -> VqaDataset:
        if train and raw.targets is not None:  # one sample per image: the encoder runs once for all its questions
            return VqaImageDataset(raw.info, raw.sources, raw.targets, model, raw.files)
        return VqaDataset(raw.info, raw.sources, raw.targets, model, raw.files)

    def predict_dataset(self, sources: list[str], model: ModelConfig, info: DatasetInfo) -> VqaDataset:
        return VqaDataset(info, list(sources), None, model)

    def collate(self, samples: list[Any]) -> Batch:
        images = torch.stack([s["image"] for s in samples])
        if samples and "questions" in samples[0]:  # grouped by image (training): questions carry their image index
            owner = torch.tensor([k for k, s in enumerate(samples) for _ in s["questions"]], dtype=torch.long)
            questions = [q for s in samples for q in s["questions"]]
            answers = [a for s in samples for a in s["answers"]]
            return Batch((images, questions, owner), answers, [], [m for s in samples for m in s["meta"]])
        answers = [s["answers"] for s in samples]
        targets = None if any(a is None for a in answers) else answers
        return Batch((images, [s["question"] for s in samples]), targets, [], [s["meta"] for s in samples])

    # ---------------------------------------------------------------- model
    def model_names(self) -> list[str]:
        return list(models.MODELS)

    def build_model(self, config: ModelConfig, info: DatasetInfo) -> nn.Module:
        vocab, answers = vocabulary(info, config.args)
        if not answers:
            raise UsageError(f"{info.spec}: the training split has no answer to learn")
        return models.build(config.name, vocab.to_list(), answers, config.img_size, config.args)

    def example_input(self, model: nn.Module, input_size: tuple[int, ...]) -> Any:
        return (torch.zeros(1, *input_size), torch.ones(1, 4, dtype=torch.long))

    # -------------------------------------------------------- train / eval
    def _logits(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        images, questions, *owner = batch.inputs
        tokens = encode_questions(questions, unwrap(model).vocab, images.device)
        if owner:
            return model(images, tokens, owner[0].to(images.device))
        return model(images, tokens)

    def train_step(self, model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        net = unwrap(model)
        index = {a: i for i, a in enumerate(net.answers)}
        logits = self._logits(model, batch)
        target = models.soft_targets(batch.targets, index, normalize_answer).to(logits.device)
        return {"loss": models.soft_cross_entropy(logits, target)}

    def predict_step(self, model: nn.Module, batch: Batch, options: PredictOptions = NO_OPTIONS) -> list[Any]:
        net = unwrap(model)
        probs = self._logits(model, batch).float().softmax(1)
        scores, idx = probs.topk(min(TOPK, probs.shape[1]), 1)
        out = []
        for s, i, meta in zip(scores.tolist(), idx.tolist(), batch.meta, strict=True):
            top = [(net.answers[k], v) for k, v in zip(i, s, strict=True)]
            out.append({"answer": top[0][0], "topk": top, "question_id": meta.get("question_id"),
                        "question": meta.get("question")})
        return out

    # -------------------------------------------------------------- outputs
    def record(self, prediction: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
        return records.record(prediction)

    def csv_rows(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"source": record.get("source", ""), "question_id": record.get("question_id"),
                 "question": record.get("question"), "answer": record.get("answer")}]

    def coco_results(self, prediction: dict[str, Any], info: DatasetInfo, image_id: Any) -> list[dict[str, Any]]:
        """The official results format: ``{"question_id", "answer"}``."""
        return [{"question_id": prediction.get("question_id"), "answer": prediction["answer"]}]

    def picture(self, source: str, info: DatasetInfo) -> np.ndarray:
        from cvkit.io.images import read_image

        image = read_image(split_source(source)[0])
        return image.expand(3, -1, -1).permute(1, 2, 0).numpy() if image.shape[0] == 1 else \
            image[:3].permute(1, 2, 0).numpy()

    def draw(self, image: np.ndarray, prediction: dict[str, Any], info: DatasetInfo) -> np.ndarray:
        lines = [f"Q: {prediction.get('question') or ''}", f"A: {prediction['answer']}"]
        return _text_below(image, lines)

    def draw_target(self, image: np.ndarray, target: Any, info: DatasetInfo) -> np.ndarray:
        return _text_below(image, [f"Q: {target['question']}", f"A: {target['answers'][0]['answer']}"])


def _text_below(image: np.ndarray, lines: list[str]) -> np.ndarray:
    h, w = image.shape[:2]
    scale = 256 / max(h, w)
    big = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                     interpolation=cv2.INTER_NEAREST if scale > 1 else cv2.INTER_AREA)
    band = np.full((18 * len(lines) + 8, big.shape[1], 3), 255, np.uint8)
    for n, text in enumerate(lines):
        cv2.putText(band, text[:60], (4, 16 + 18 * n), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([big, band])
