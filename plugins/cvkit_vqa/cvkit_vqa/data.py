"""The VQA dataset: one sample per question; images decoded once per file (kept in memory while small).
For training, :class:`VqaImageDataset` makes one sample per image with all of its questions, so the image encoder
runs once per image instead of once per question (about 4.5 times less encoder work on ``builtin:scenes``).

Questions travel as text: the model encodes them with its own vocabulary in ``train_step``/``predict_step``, so
a validation split needs nothing from the training split. For ``cvkit predict`` a SOURCE is
``IMAGE<TAB>QUESTION`` (optionally ``<TAB>QUESTION_ID``), e.g. lines on stdin.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from cvkit.errors import BadInput
from cvkit.io.images import read_image
from cvkit.task import AnnotatedDataset, DatasetInfo, ModelConfig
from cvkit.vision.cache import MemoryCache


def split_source(source: str) -> tuple[str, str | None, Any]:
    """``IMAGE<TAB>QUESTION[<TAB>QUESTION_ID]`` -> (image, question, question id); a dataset sample
    ``IMAGE#QUESTION_ID`` -> (image, None, id); a bare image -> (image, None, None)."""
    parts = source.split("\t")
    if len(parts) >= 2:
        qid: Any = parts[2].strip() if len(parts) > 2 else None
        if isinstance(qid, str) and qid.lstrip("-").isdigit():
            qid = int(qid)
        return parts[0].strip(), parts[1].strip(), qid
    image, sep, qid = source.rpartition("#")
    if sep and qid.isdigit():
        return image, None, int(qid)
    return source, None, None


class VqaDataset(AnnotatedDataset):
    """``self[i]`` = ``{"image", "question", "answers" (entries, or None when predicting), "meta"}``."""

    random_transforms = False

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[dict[str, Any]] | None,
                 model: ModelConfig, files: list[Path] | None = None) -> None:
        super().__init__(info, sources, targets, files)
        self.size = int(model.img_size)
        self.mean = torch.tensor(model.mean).view(-1, 1, 1)
        self.std = torch.tensor(model.std).view(-1, 1, 1)
        self.cache = MemoryCache(enabled=targets is not None)  # resized uint8 images by path (cvkit.vision.cache)

    def _image(self, path: str) -> tuple[torch.Tensor, tuple[int, int]]:
        return self.cache.get(path, lambda: self._load(path))

    def _load(self, path: str) -> tuple[torch.Tensor, tuple[int, int]]:
        img = read_image(path)
        h, w = int(img.shape[-2]), int(img.shape[-1])
        img = img.expand(3, -1, -1) if img.shape[0] == 1 else img[:3]
        if (h, w) != (self.size, self.size):
            img = F.interpolate(img[None].float(), (self.size, self.size), mode="bilinear", antialias=True,
                                align_corners=False)[0].round().clamp(0, 255).to(torch.uint8)
        return img, (h, w)

    def __getitem__(self, index: int) -> dict[str, Any]:
        target = self.target(index)
        if target is not None:
            image_path, question, qid = target["image"], target["question"], target["question_id"]
        else:
            image_path, question, qid = split_source(self.sources[index])
            if question is None:
                raise BadInput(self.sources[index], "no question: give IMAGE<TAB>QUESTION (e.g. lines on stdin)")
        img, size = self._image(image_path)
        x = (img.float() / 255.0 - self.mean) / self.std
        return {"image": x, "question": question, "answers": None if target is None else target["answers"],
                "meta": {"source": self.sources[index], "orig_size": size, "question_id": qid,
                         "question": question}}


_SIDES = re.compile(r"\b(left|right)\b", re.IGNORECASE)


def _other_side(match: re.Match[str]) -> str:
    word = match.group(1)
    other = "right" if word.lower() == "left" else "left"
    return other.upper() if word.isupper() else other.capitalize() if word[0].isupper() else other


def mirror_text(text: str) -> str:
    """``text`` as it reads for the mirrored image: the words "left" and "right" swapped (case kept)."""
    return _SIDES.sub(_other_side, text)


def mirror_answers(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**e, "answer": mirror_text(str(e.get("answer", "")))} for e in entries]


class VqaImageDataset(VqaDataset):
    """Training samples grouped by image: ``self[i]`` = ``{"image", "questions", "answers" (one entry list per
    question), "meta" (one dict per question)}`` for the ``i``-th distinct image, in the order images first
    appear.

    ``mirror`` (model argument ``mirror=true``): each time an image is drawn, with probability 1/2 it is flipped
    left to right and the words "left" and "right" swap in its questions and answers, so every layout is also
    seen mirrored. It assumes nothing else in the image or the text has a handedness (no text to read in the
    image, no shape that is not its own mirror image): true of ``builtin:scenes``, not of every VQA v2 image, so
    it is off unless asked."""

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[dict[str, Any]],
                 model: ModelConfig, files: list[Path] | None = None) -> None:
        super().__init__(info, sources, targets, model, files)
        self.mirror = bool(model.args.get("mirror", False))
        self.random_transforms = self.mirror
        groups: dict[str, list[int]] = {}
        for index, target in enumerate(targets):
            groups.setdefault(target["image"], []).append(index)
        self.groups = list(groups.values())

    def __len__(self) -> int:
        return len(self.groups)

    def source(self, index: int) -> str:
        return self.sources[self.groups[index][0]]

    def __getitem__(self, index: int) -> dict[str, Any]:
        members = [self.targets[i] for i in self.groups[index]]  # type: ignore[index]
        img, size = self._image(members[0]["image"])
        x = (img.float() / 255.0 - self.mean) / self.std
        questions, answers = [t["question"] for t in members], [t["answers"] for t in members]
        if self.mirror and bool(torch.rand(()) < 0.5):
            x = x.flip(-1)
            questions = [mirror_text(q) for q in questions]
            answers = [mirror_answers(a) for a in answers]
        metas = [{"source": self.sources[i], "orig_size": size, "question_id": t["question_id"],
                  "question": q} for i, t, q in zip(self.groups[index], members, questions, strict=True)]
        return {"image": x, "questions": questions, "answers": answers, "meta": metas}
