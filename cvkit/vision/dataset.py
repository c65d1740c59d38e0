"""One dataset for every image-and-annotation task (torch): decode -> joint ``transforms.v2`` on tv_tensors -> meta.

:class:`ImageAnnotationDataset` decodes image ``i`` (``cvkit.io.images.read_image``: named errors), asks the subclass
for the annotations to transform with it (:meth:`~ImageAnnotationDataset.annotations`: a dict of tv_tensors such as
``BoundingBoxes``, ``Mask``), runs the transform on both at once (so boxes, masks and keypoints move with the image),
and lets the subclass turn the result into the training target (:meth:`~ImageAnnotationDataset.finish`). A sample
is ``{"index", "image", "target", "meta": {"source", "orig_size": (h, w), "input_size": (S, S)}}``; ``target(i)``
stays the raw annotation in original coordinates, for evaluation. Decoded images with their annotations (training;
resized too when the training transform starts with a ``Resize``, which draws nothing) and finished samples
(evaluation: nothing random) are kept in a :class:`~cvkit.vision.cache.MemoryCache` when the
dataset has targets (not when predicting). :func:`raw_split` wraps an
:class:`~cvkit.vision.schema.AnnotationSet` into the contract's ``RawSplit``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from cvkit.errors import UsageError
from cvkit.io.images import read_image
from cvkit.task import AnnotatedDataset, Batch, DatasetInfo, ModelConfig
from cvkit.vision.cache import MemoryCache
from cvkit.vision.splits import raw_split  # noqa: F401 - re-exported (torch-free home)

# --model-arg keys every ImageAnnotationDataset reads (and builders should not receive)
DATA_ARGS = ("augment", "vflip")
AUGMENT = ("default", "sample", "none")


class ImageAnnotationDataset(AnnotatedDataset):
    """Model arguments read here: ``augment`` (``default``, ``sample`` or ``none``) and ``vflip`` (also flip
    vertically when training). ``train_transform(size, mean, std, vflip)`` / ``eval_transform(size, mean, std)``
    build the transforms. A task that augments whole batches in its training step passes ``augment_in_step``:
    with ``augment=default`` training samples then go through ``eval_transform`` (resize, normalise: nothing drawn)
    and every sample's meta carries ``"augment": {"vflip", "mean", "std", "fill"}`` for
    :func:`cvkit.vision.batch_augment.apply` (``fill``: :attr:`label_fill`, what a label map's uncovered pixels
    become); ``augment=sample`` keeps ``train_transform`` (everything per sample). :meth:`annotations` must not
    modify what it is given, nor the transforms their inputs: both are kept in memory and used again next epoch."""

    label_fill = 0  # a label-map target's value where a geometric augmentation uncovers pixels

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[Any] | None, model: ModelConfig,
                 train: bool, files: list[Path] | None = None, *,
                 train_transform: Callable[..., Any], eval_transform: Callable[..., Any],
                 augment_in_step: bool = False) -> None:
        super().__init__(info, sources, targets, files)
        self.train = train
        self.size = int(model.img_size)
        self.args = dict(model.args)
        mode = str(model.args.get("augment", "default"))
        if mode not in AUGMENT:
            raise UsageError(f"augment={mode!r}: expected one of {', '.join(AUGMENT)}")
        augment = train and mode != "none"
        vflip = bool(model.args.get("vflip", False))
        self.resize: v2.Resize | None = None  # applied before caching: the first op of a training transform
        self.batch_augment: dict[str, Any] | None = None  # what the training step still draws, per sample's meta
        if augment and augment_in_step and mode == "default":  # nothing drawn here: the step draws it all
            self.batch_augment = {"vflip": vflip, "mean": tuple(model.mean), "std": tuple(model.std),
                                  "fill": self.label_fill}
            self.transform = eval_transform(self.size, model.mean, model.std)
        elif augment:
            self.transform = train_transform(self.size, model.mean, model.std, vflip)
        else:
            self.transform = eval_transform(self.size, model.mean, model.std)
        ops = getattr(self.transform, "transforms", None)
        if augment and ops and isinstance(ops[0], v2.Resize):
            self.resize, self.transform = ops[0], v2.Compose(ops[1:])
        self.finished = not augment  # the transform draws nothing: keep finished samples, not decoded images
        # evaluation need not be seeded; training is, even without augmentation (the model's own draws follow)
        self.random_transforms = train
        self.cache = MemoryCache(enabled=targets is not None)

    def annotations(self, index: int, raw: Any, size: tuple[int, int]) -> dict[str, Any] | None:
        """The tv_tensors to transform with image ``index`` (``raw``: its raw target, None when predicting;
        ``size``: the decoded image's ``(h, w)``), or None to transform the image alone."""
        return None

    def finish(self, transformed: dict[str, Any], raw: Any, index: int) -> Any:
        """The training target from the transformed annotations (default: None)."""
        return None

    def decoded(self, index: int) -> tuple[torch.Tensor, dict[str, Any] | None]:
        """Image ``index`` decoded, with its untransformed annotations (:meth:`annotations`)."""
        img = read_image(self.sources[index])
        return img, self.annotations(index, self.target(index), (int(img.shape[-2]), int(img.shape[-1])))

    def __getitem__(self, index: int) -> dict[str, Any]:
        if self.finished:
            sample = self.cache.get(index, lambda: self._sample(index, *self.decoded(index)))
            return {**sample, "meta": dict(sample["meta"])}
        return self._sample(index, *self.cache.get(index, lambda: self._resized(index)))

    def decode_ahead(self, index: int) -> bool:
        """The training loop's decode-ahead thread: what :meth:`__getitem__` keeps of image ``index`` (decoded and
        resized; the finished sample when the transform draws nothing), loaded into the cache."""
        if self.finished:
            return self.cache.keep(index, lambda: self._sample(index, *self.decoded(index)))
        return self.cache.keep(index, lambda: self._resized(index))

    def _resized(self, index: int) -> tuple[torch.Tensor, dict[str, Any] | None, tuple[int, int]]:
        """Image ``index`` decoded with its annotations, through the transform's leading ``Resize`` if it has one,
        and the decoded size."""
        img, ann = self.decoded(index)
        size = (int(img.shape[-2]), int(img.shape[-1]))
        if self.resize is not None:
            if ann is None:
                img = self.resize(tv_tensors.Image(img)).as_subclass(torch.Tensor)
            else:
                out, ann = self.resize(tv_tensors.Image(img), ann)
                img = out.as_subclass(torch.Tensor)
        return img, ann, size

    def _sample(self, index: int, img: torch.Tensor, ann: dict[str, Any] | None,
                orig: tuple[int, int] | None = None) -> dict[str, Any]:
        h, w = orig or (int(img.shape[-2]), int(img.shape[-1]))
        raw = self.target(index)
        meta = {"source": self.sources[index], "orig_size": (h, w), "input_size": (self.size, self.size)}
        if self.batch_augment is not None:
            meta["augment"] = self.batch_augment
        if ann is None:
            image, target = self.transform(tv_tensors.Image(img)), None
        else:
            image, out = self.transform(tv_tensors.Image(img), ann)
            target = self.finish(out, raw, index)
        return {"index": index, "image": image.as_subclass(torch.Tensor), "target": target, "meta": meta}


def no_boxes(size: tuple[int, int]) -> dict[str, Any]:
    """An empty box set: box transforms (clamp, sanitize) need one even when there is nothing to move."""
    return {"boxes": tv_tensors.BoundingBoxes(torch.zeros(0, 4), format="XYXY", canvas_size=size),
            "labels": torch.zeros(0, dtype=torch.int64)}


def collate_samples(samples: list[dict[str, Any]], stack_targets: bool = False) -> Batch:
    """A :class:`~cvkit.task.Batch` of ImageAnnotationDataset samples: images stacked, targets as a list (stacked
    with ``stack_targets``; None when a sample has none, i.e. when predicting), per-sample ``meta``."""
    targets = [s["target"] for s in samples]
    if any(t is None for t in targets):
        batched: Any = None
    else:
        batched = torch.stack(targets) if stack_targets else targets
    return Batch(inputs=torch.stack([s["image"] for s in samples]), targets=batched, indices=[],
                 meta=[s["meta"] for s in samples])
