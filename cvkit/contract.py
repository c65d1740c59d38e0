"""The torch-free half of the task-plugin contract: what a dataset, a metric and a prediction record need.

Everything here imports without torch, so that reading annotations and scoring a predictions file
(``cvkit eval TASK --data SPEC --predictions FILE``) never needs it. :mod:`cvkit.task` re-exports every name; plugins
may import them from either module. A plugin's scoring side (``TaskSpec.scoring``, see :class:`Scoring`) is built
from these types only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class DatasetInfo:
    """What a model and the outputs need to know about a dataset; stored in checkpoints (JSON-safe values only)."""

    name: str  # e.g. "digits", "VOC2007", "instances_val2017"
    format: str  # the format that loaded it: "imagefolder", "voc", "coco", ...
    spec: str  # the resolved --data string, e.g. "coco:/data/coco"
    split: str
    classes: list[str]
    extra: dict[str, Any] = field(default_factory=dict)  # task-specific: category ids, skeleton, year, ...

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "format": self.format,
            "spec": self.spec,
            "split": self.split,
            "classes": list(self.classes),
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetInfo:
        return cls(d["name"], d["format"], d["spec"], d["split"], list(d["classes"]), dict(d.get("extra", {})))


@dataclass
class ModelConfig:
    """How a model was built and how its inputs are prepared; enough to rebuild it from a checkpoint."""

    name: str
    img_size: int
    args: dict[str, Any] = field(default_factory=dict)  # plugin-specific builder arguments (--model-arg)
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    pretrained: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "img_size": self.img_size,
            "args": self.args,
            "mean": list(self.mean),
            "std": list(self.std),
            "pretrained": self.pretrained,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        return cls(
            d["name"], int(d["img_size"]), dict(d.get("args", {})), tuple(d["mean"]), tuple(d["std"]),
            bool(d.get("pretrained", False)),
        )


@dataclass(frozen=True)
class PredictOptions:
    """Per-call options of ``cvkit predict`` (and of drawing), passed explicitly to ``predict_step``, ``record``
    and ``draw``; evaluation passes the default (every scored prediction kept, no artefacts written).

    ``conf``: minimum score of a reported detection/keypoint/label (None: the task's default, usually none).
    ``save_masks``: folder for per-input mask PNGs (segmentation), None to write none (records keep their RLE).
    ``extra``: task-specific options (``cvkit predict --task-arg KEY=VALUE``, values as strings).
    ``position`` and ``stem``: set by the core for ``record``: the input's position in the call and a file stem
    unique within the call (the source's stem; ``<stem>_2``, ``<stem>_3``... for repeats), to name artefacts
    (``save_masks/<stem>.png``: the VOC results layout that ``eval --predictions FOLDER`` reads back)."""

    conf: float | None = None
    save_masks: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    position: int | None = None
    stem: str | None = None


NO_OPTIONS = PredictOptions()


@dataclass
class ValidationPicture:
    """One validation sample drawn by a task (``Task.validation_picture``) for the pictures written into a run
    folder after training: the ground truth and the prediction as RGB uint8 HWC arrays (any sizes), whether the
    prediction is wrong (the core frames wrong samples in red), and a short note such as ``2 missed, 1 FP``."""

    truth: Any
    prediction: Any
    wrong: bool = False
    note: str = ""


def supported_kwargs(fn: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    """The keyword arguments of ``kwargs`` that ``fn`` accepts: lets the core pass the newer optional arguments
    (``options``, ``info``) to plugins written before they existed."""
    import inspect

    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in params}


class DatasetFormat(ABC):
    """One on-disk format (``imagefolder``, ``voc``, ``coco``...). One module per format in a plugin."""

    name: str
    description: str = ""

    @abstractmethod
    def detect(self, path: Path) -> bool:
        """True when ``path`` looks like this format (used when --data has no ``FORMAT:`` prefix)."""

    @abstractmethod
    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        """Parse the annotations of ``split`` (no image decoding). Raise BadInput on malformed files."""


@dataclass
class RawSplit:
    """Parsed annotations of one split: the list of samples with their sources and raw targets."""

    info: DatasetInfo
    sources: list[str]  # image (or video) paths
    targets: list[Any]  # raw targets, aligned with sources
    files: list[Path] = field(default_factory=list)  # annotation files read (fingerprint)
    skipped: int = 0  # annotations skipped under --skip-bad


class BuiltinDataset(ABC):
    """An embedded dataset that ``cvkit data make`` writes in a real on-disk format.

    The core publishes it (``cvkit.data.publish_builtin``): ``write`` gets a fresh empty folder, the core adds
    the dataset card (``card()``, see ``cvkit.data.CARD_NAME``) and moves the folder into place atomically."""

    name: str
    formats: tuple[str, ...]  # formats it can be written in; the first is the default
    description: str = ""
    # raise it whenever ``write`` changes what it writes for a (seed, size): the cached copy of ``builtin:NAME``
    # records the version it was written by and is written again when it differs
    version: int = 1

    @abstractmethod
    def write(self, out: Path, fmt: str, size: int | None, seed: int) -> str:
        """Write the dataset under the fresh folder ``out``; return the ``FORMAT:PATH`` data spec that loads it
        (PATH inside ``out``)."""

    def card(self) -> dict[str, Any]:
        """Recommended training settings for this data, stored next to its files so that ``builtin:NAME`` and
        ``FORMAT:<the same files>`` train identically: ``{"defaults": {TrainConfig field: value}, "models":
        {model name: {field: value}}}`` (a model's entry replaces ``defaults`` for that model). Empty: none."""
        return {}


class Evaluator(ABC):
    """Accumulates per-sample predictions against raw targets and computes the task's metrics.

    Distributed evaluation: each rank updates with its own disjoint samples, ``state()`` is gathered
    from all ranks and merged with ``merge()``; ``compute()`` runs on one rank.
    """

    primary: str  # the metric name best.pt is chosen by
    higher_is_better: bool = True  # False for a primary metric such as an error or a loss

    @abstractmethod
    def update(self, indices: Sequence[int], predictions: Sequence[Any], targets: Sequence[Any]) -> None: ...

    @abstractmethod
    def state(self) -> Any:
        """A picklable snapshot of what was accumulated."""

    @abstractmethod
    def merge(self, states: Iterable[Any]) -> None:
        """Replace the accumulated data with the union of ``states`` (one per rank)."""

    @abstractmethod
    def compute(self) -> dict[str, float]: ...

    def details(self) -> dict[str, Any]:
        """Optional extra results (per-class tables, confusion matrix, curves) for eval --json and plots."""
        return {}


class SampleEvaluator(Evaluator):
    """An evaluator that keeps every sample's (prediction, target) by dataset index until ``compute``: ``update``,
    ``state`` and ``merge`` are done; subclasses implement ``compute`` over :meth:`sorted_items` and may convert
    each pair on arrival (:meth:`prepare`, e.g. tensors to numpy)."""

    def __init__(self) -> None:
        self.items: dict[int, tuple[Any, Any]] = {}

    def prepare(self, prediction: Any, target: Any) -> tuple[Any, Any]:
        return prediction, target

    def update(self, indices: Sequence[int], predictions: Sequence[Any], targets: Sequence[Any]) -> None:
        for i, p, t in zip(indices, predictions, targets, strict=True):
            self.items[int(i)] = self.prepare(p, t)

    def state(self) -> Any:
        return self.items

    def merge(self, states: Iterable[Any]) -> None:
        merged: dict[int, tuple[Any, Any]] = {}
        for s in states:
            merged.update(s)
        self.items = merged

    def sorted_items(self) -> tuple[list[int], list[Any], list[Any]]:
        """Indices in order, with their predictions and targets."""
        indices = sorted(self.items)
        return indices, [self.items[i][0] for i in indices], [self.items[i][1] for i in indices]


class Scoring:
    """What ``cvkit eval TASK --data SPEC --predictions FILE`` needs of a task, without torch: its dataset formats
    and embedded datasets, its evaluator, and its record parser. A plugin names a torch-free subclass in
    ``TaskSpec.scoring`` (``"package.module:Class"``) and its :class:`cvkit.task.Task` inherits from it, so both
    paths run the same code. Instantiated with the plugin's spec."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.name = spec.name

    def formats(self) -> dict[str, DatasetFormat]:
        raise NotImplementedError

    def builtins(self) -> dict[str, BuiltinDataset]:
        raise NotImplementedError

    def evaluator(self, info: DatasetInfo, metric: str | None = None) -> Evaluator:
        raise NotImplementedError

    def metric_names(self) -> list[str]:
        return []

    def parse_record(self, record: dict[str, Any], info: DatasetInfo) -> Any:
        raise NotImplementedError

    def read_predictions_file(self, path: Path, info: DatasetInfo) -> Iterator[tuple[str, Any]] | None:
        return None
