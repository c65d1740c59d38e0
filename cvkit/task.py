"""The task-plugin contract: what a plugin supplies and what the core does with it.

The core owns every loop (train, eval, predict), devices, distributed training, checkpoints, logging and
output writers. A plugin subclasses :class:`Task` and supplies the task-specific pieces: dataset formats,
transforms, collation, models, the loss (``train_step``), postprocessing (``predict_step``), the metric
(``evaluator``), prediction records and drawing. See ``docs/plugins.md`` for the walk-through.

Data flows one way::

    source -> TaskDataset[i] (transformed sample) -> collate -> Batch -> model -> predict_step
           -> per-sample predictions (original image coordinates) -> Evaluator / record() -> writer

Evaluation always compares predictions in original image space with ``TaskDataset.target(i)``, the raw
annotation of sample ``i`` (never a transformed one), so metrics do not depend on augmentation or resizing,
and ``cvkit eval --predictions FILE`` can score a file without decoding a single image.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cvkit import model as model_protocol
from cvkit.contract import (  # noqa: F401 - re-exported: the torch-free half of the contract
    IMAGENET_MEAN,
    IMAGENET_STD,
    NO_OPTIONS,
    BuiltinDataset,
    DatasetFormat,
    DatasetInfo,
    Evaluator,
    ModelConfig,
    PredictOptions,
    RawSplit,
    SampleEvaluator,
    Scoring,
    ValidationPicture,
    supported_kwargs,
)
from cvkit.plugin import TaskSpec


@dataclass
class Batch:
    """A collated batch. ``inputs`` is a tensor or a list of tensors; ``targets`` is whatever the loss needs
    (None when predicting); ``indices`` are the dataset indices of the samples (set by the core after
    ``Task.collate``, which leaves them empty: whatever collate puts there is replaced); ``meta[k]`` holds
    per-sample facts such as ``source`` (path as given) and ``orig_size`` ``(h, w)`` that ``predict_step`` needs
    to map outputs back to the original image."""

    inputs: Any
    targets: Any
    indices: list[int]
    meta: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.indices)

    def to(self, device: torch.device, non_blocking: bool = False) -> Batch:
        return Batch(
            to_device(self.inputs, device, non_blocking),
            to_device(self.targets, device, non_blocking),
            self.indices,
            self.meta,
        )


def to_device(obj: Any, device: torch.device, non_blocking: bool = False) -> Any:
    """Move tensors nested in lists, tuples and dicts to ``device``."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=non_blocking)
    if isinstance(obj, dict):
        return {k: to_device(v, device, non_blocking) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device, non_blocking) for v in obj)
    return obj


class TaskDataset(torch.utils.data.Dataset, ABC):
    """A dataset split. ``self[i]`` returns one transformed sample for ``Task.collate``; ``target(i)`` returns
    the raw annotation in original image coordinates (no image decoding) for evaluation.

    A sample that cannot be read raises :class:`cvkit.errors.BadInput` naming the file; the engine stops or,
    with ``--skip-bad``, skips and counts it. Datasets must be picklable (DataLoader workers).

    Optional ``decode_ahead(index) -> bool``: load what ``self[index]`` keeps of that sample (decoded, resized:
    nothing random) into the dataset's cache, safely beside ``__getitem__`` (``MemoryCache.keep``); False when the
    cache is full. Training without worker processes calls it on a background thread in the epoch's order
    (:func:`cvkit.engine.loader.decode_ahead`), on ``decode_ahead_threads`` threads where the dataset sets that
    attribute (decoders that run outside the GIL).
    """

    info: DatasetInfo
    # False when ``self[i]`` is the same every time (no random augmentation): the core then skips seeding.
    random_transforms: bool = True

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def __getitem__(self, index: int) -> Any: ...

    @abstractmethod
    def source(self, index: int) -> str:
        """The path of sample ``index`` as the user would recognise it (for records and error messages)."""

    @abstractmethod
    def target(self, index: int) -> Any:
        """The raw annotation of sample ``index`` as the evaluator expects it."""


class AnnotatedDataset(TaskDataset):
    """The bookkeeping every image-and-annotation dataset shares: sources, raw targets (None when predicting)
    and the annotation files read. Subclasses add decoding and transforms in ``__getitem__``."""

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[Any] | None,
                 files: list[Path] | None = None) -> None:
        self.info, self.sources, self.targets = info, sources, targets
        self.annotation_files = list(files or [])

    def __len__(self) -> int:
        return len(self.sources)

    def source(self, index: int) -> str:
        return self.sources[index]

    def target(self, index: int) -> Any:
        return None if self.targets is None else self.targets[index]


class Task(ABC):
    """Base class of every task plugin's implementation. Instantiated once per process with its spec."""

    default_model: str = ""
    default_img_size: int = 32
    default_epochs: int = 10
    default_batch_size: int = 32
    default_lr: float = 1e-3
    default_optimizer: str = "adamw"
    default_weight_decay: float = 1e-4
    default_warmup_epochs: float = 0.0
    default_schedule: str = "cosine"
    default_input_size: tuple[int, ...] = (3, 224, 224)  # for count-params without a dataset
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    input_extensions: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")

    def __init__(self, spec: TaskSpec) -> None:
        self.spec = spec
        self.name = spec.name

    def defaults_for(self, data: str, model: str) -> dict[str, Any]:
        """Option defaults that suit a model (``TrainConfig`` field names; ``model_args`` is merged under the
        user's). Dataset-specific settings belong in the dataset's card (``BuiltinDataset.card``), which the core
        applies first; these come next, then the class-level defaults."""
        return {}

    # ----------------------------------------------------------------- data
    @abstractmethod
    def formats(self) -> dict[str, DatasetFormat]:
        """On-disk dataset formats by name."""

    @abstractmethod
    def builtins(self) -> dict[str, BuiltinDataset]:
        """Embedded datasets by name (``builtin:NAME``)."""

    @abstractmethod
    def dataset(self, raw: RawSplit, model: ModelConfig, train: bool) -> TaskDataset:
        """Wrap parsed annotations into a dataset that decodes and transforms samples for ``model``.

        ``train`` selects augmentation; evaluation uses the deterministic transform."""

    @abstractmethod
    def predict_dataset(self, sources: list[str], model: ModelConfig, info: DatasetInfo) -> TaskDataset:
        """A dataset over raw input files for ``cvkit predict`` (targets are None)."""

    @abstractmethod
    def collate(self, samples: list[Any]) -> Batch: ...

    # ---------------------------------------------------------------- model
    @abstractmethod
    def model_names(self) -> list[str]:
        """Every model name ``build_model`` accepts (may import torchvision)."""

    @abstractmethod
    def build_model(self, config: ModelConfig, info: DatasetInfo) -> nn.Module:
        """Build the model for ``info.classes``; never downloads (``config.pretrained`` reads the hub cache)."""

    def foreign_checkpoint(self, path: Path) -> Any:
        """Weights saved by another toolkit that this task reads (e.g. official Segment Anything files), as a
        ``cvkit.checkpoint.Checkpoint`` whose model ``build_model`` builds; None when ``path`` is not such a file.
        Asked by ``load_model`` (predict, eval) only when the task is named and the file is no cvkit checkpoint."""
        return None

    def freeze_backbone(self, model: nn.Module) -> None:
        """``--freeze-backbone``: freeze what the model declares as its backbone (``cvkit.model``); a model that
        declares none keeps only its head trainable. Override only when the model cannot say it itself."""
        model_protocol.freeze_backbone(model)

    def example_input(self, model: nn.Module, input_size: tuple[int, ...]) -> Any:
        """An input for tracing/counting (count-params, export). Default: one ``(1, *input_size)`` tensor."""
        return torch.zeros(1, *input_size)

    # -------------------------------------------------------- train / eval
    @abstractmethod
    def train_step(self, model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        """Forward pass in train mode; returns ``{"loss": scalar, ...other logged scalars}``."""

    @abstractmethod
    def predict_step(self, model: nn.Module, batch: Batch, options: PredictOptions = NO_OPTIONS) -> list[Any]:
        """Forward pass in eval mode (under no_grad); one prediction per sample, in original image space.

        ``options.conf`` (``cvkit predict --conf``) filters what is reported; evaluation passes no options."""

    def fit(self, model: nn.Module, batches: Iterator[Batch]) -> bool:
        """One-pass fitting instead of gradient descent, for models that declare ``fitted_in_one_pass``
        (``cvkit.model``). Return True when the model was fitted (the engine then skips gradient training)."""
        return model_protocol.fit_in_one_pass(model, batches)

    @abstractmethod
    def evaluator(self, info: DatasetInfo, metric: str | None = None) -> Evaluator: ...

    def metric_names(self) -> list[str]:
        """Choices for ``--metric`` (empty: the task has one metric family). The spec's ``metrics`` lists the same
        names for completion without importing the task (a core test checks they agree)."""
        return []

    # -------------------------------------------------------------- outputs
    @abstractmethod
    def record(self, prediction: Any, info: DatasetInfo, options: PredictOptions = NO_OPTIONS) -> dict[str, Any]:
        """The task fields of a JSONL prediction record (the core adds ``source`` and ``task``). Artefacts such as
        mask PNGs are written only where ``options`` asks (``save_masks``), never into the current folder."""

    @abstractmethod
    def parse_record(self, record: dict[str, Any], info: DatasetInfo) -> Any:
        """Turn a record written by ``record`` back into a prediction (for eval --predictions).

        ``parse_record({}, info)`` must return the empty prediction: it scores images the file has no record
        for (e.g. no detections)."""

    def csv_rows(self, record: dict[str, Any], info: DatasetInfo | None = None) -> list[dict[str, Any]]:
        """Rows for ``--format csv`` (one per prediction); default: the record's scalar fields. ``info`` is the
        dataset the model was trained on (class and keypoint names)."""
        return [{k: v for k, v in record.items() if not isinstance(v, (list, dict))}]

    def coco_results(self, prediction: Any, info: DatasetInfo, image_id: Any) -> list[dict[str, Any]]:
        """Entries for ``--format coco``; tasks without a COCO results format raise CvkitError."""
        from cvkit.errors import CvkitError

        raise CvkitError(f"task {self.name!r} has no COCO results format; use --format jsonl or csv")

    def read_predictions_file(self, path: Path, info: DatasetInfo) -> Iterator[tuple[str, Any]] | None:
        """Optional: parse a task-specific predictions file (e.g. a COCO results list) into (source, prediction).

        Return None when ``path`` is not such a file; the core then reads it as predict's JSONL."""
        return None

    def picture(self, source: str, info: DatasetInfo) -> np.ndarray:
        """The RGB uint8 HWC picture of an input that ``draw`` draws on (``--save-vis``, galleries): the image
        itself by default; a video task returns a contact sheet of frames."""
        from cvkit.io.images import read_image

        return read_image(source).permute(1, 2, 0).numpy()

    @abstractmethod
    def draw(self, image: np.ndarray, prediction: Any, info: DatasetInfo,
             options: PredictOptions = NO_OPTIONS) -> np.ndarray:
        """Draw ``prediction`` on an RGB uint8 HWC image (OpenCV), returning a new image."""

    def draw_target(self, image: np.ndarray, target: Any, info: DatasetInfo) -> np.ndarray:
        """Draw a ground-truth annotation (``visualize dataset``); default: the image unchanged."""
        return image

    def validation_picture(self, image: np.ndarray, prediction: Any, target: Any, info: DatasetInfo
                           ) -> ValidationPicture | None:
        """Optional: ground truth beside prediction for one validation sample (``image`` from ``picture``), with
        mistakes marked, for the ``val_batch*.png`` mosaics written after training. Default: None (no pictures)."""
        return None

    def scripts(self) -> dict[str, Callable[[VisualizeRequest], list[Path]]]:
        """Extra visualisations contributed by the task: ``cvkit visualize KIND`` calls ``scripts()[KIND](request)``
        for a KIND the core does not know; it writes into ``request.out`` and returns the files written."""
        return {}


@dataclass
class VisualizeRequest:
    """What ``cvkit visualize KIND`` was asked, for a task's own ``scripts()``."""

    kind: str
    out: Path
    sources: list[str] = field(default_factory=list)
    weights: Path | None = None
    data: str | None = None
    split: str | None = None
    limit: int | None = None
    layer: str | None = None
    target: str | None = None
    options: dict[str, str] = field(default_factory=dict)  # --option KEY=VALUE
    device: str = "auto"
