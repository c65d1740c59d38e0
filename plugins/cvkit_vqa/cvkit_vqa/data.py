"""The VQA dataset: one sample per question; images decoded once per file (kept in memory while small).

Questions travel as text: the model encodes them with its own vocabulary in ``train_step``/``predict_step``, so
a validation split needs nothing from the training split. For ``cvkit predict`` a SOURCE is
``IMAGE<TAB>QUESTION`` (optionally ``<TAB>QUESTION_ID``), e.g. lines on stdin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from cvkit.errors import BadInput
from cvkit.io.images import read_image
from cvkit.task import AnnotatedDataset, DatasetInfo, ModelConfig

CACHE_BYTES = 256 * 2**20


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
        self._cache: dict[str, tuple[torch.Tensor, tuple[int, int]]] = {}
        self._bytes = 0

    def _image(self, path: str) -> tuple[torch.Tensor, tuple[int, int]]:
        item = self._cache.get(path)
        if item is None:
            img = read_image(path)
            h, w = int(img.shape[-2]), int(img.shape[-1])
            img = img.expand(3, -1, -1) if img.shape[0] == 1 else img[:3]
            if (h, w) != (self.size, self.size):
                img = F.interpolate(img[None].float(), (self.size, self.size), mode="bilinear", antialias=True,
                                    align_corners=False)[0].round().clamp(0, 255).to(torch.uint8)
            item = (img, (h, w))
            if self._bytes + img.numel() <= CACHE_BYTES:
                self._cache[path] = item
                self._bytes += img.numel()
        return item

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
