"""The dense-regression task: depth (and surface normals) for every pixel, on the core's loops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cvkit.task import Batch, DatasetInfo, ModelConfig, RawSplit, Task
from cvkit_dense import draw, losses, models, records
from cvkit_dense.datasets.dataset import DenseDataset, from_raw, input_hw, read_rgb
from cvkit_dense.datasets.depthio import load_target
from cvkit_dense.scoring import DenseScoring


def _extra(options: Any) -> dict[str, Any]:
    """Task options of a predict call (``PredictOptions.extra``; a plain dict is accepted too)."""
    if options is None:
        return {}
    if isinstance(options, dict):
        return options
    return dict(getattr(options, "extra", None) or {})


def wants_normals(config: ModelConfig, info: DatasetInfo) -> bool:
    """``--model-arg targets=depth`` or ``depth,normals``; default: normals when the dataset has them."""
    targets = config.args.get("targets")
    if targets is None:
        return bool(info.extra.get("normals", False))
    names = targets if isinstance(targets, list) else str(targets).split(",")
    return "normals" in [str(n).strip() for n in names]


class DenseTask(DenseScoring, Task):
    """Formats, embedded data, metric and record parsing come from :class:`DenseScoring` (torch-free)."""

    default_model = "unet"
    default_img_size = 128
    default_epochs = 4
    default_batch_size = 8
    default_lr = 2e-3
    default_optimizer = "adamw"
    default_weight_decay = 1e-4
    default_warmup_epochs = 0.1
    default_schedule = "cosine"
    default_input_size = (3, 96, 128)

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self._taken: dict[str, set[str]] = {}  # names written per --save-depth folder (unique output names)

    # ----------------------------------------------------------------- data
    def dataset(self, raw: RawSplit, model: ModelConfig, train: bool) -> DenseDataset:
        return from_raw(raw, model, train)

    def predict_dataset(self, sources: list[str], model: ModelConfig, info: DatasetInfo) -> DenseDataset:
        return DenseDataset(info, list(sources), None, model, train=False)

    def collate(self, samples: list[Any]) -> Batch:
        targets = [s["target"] for s in samples]
        if any(t is None for t in targets):
            batched = None
        else:
            normals = [t["normals"] for t in targets]
            batched = {"depth": torch.stack([t["depth"] for t in targets]),
                       "normals": None if any(n is None for n in normals) else torch.stack(normals)}
        return Batch(torch.stack([s["image"] for s in samples]), batched, [], [s["meta"] for s in samples])

    # ---------------------------------------------------------------- model
    def model_names(self) -> list[str]:
        return list(models.NAMES)

    def build_model(self, config: ModelConfig, info: DatasetInfo) -> nn.Module:
        return models.build(config.name, wants_normals(config, info), input_hw(config, info), config.args)

    def fit(self, model: nn.Module, batches: Iterator[Batch]) -> bool:
        """The mean-map baseline is fitted in one pass over the (augmented) training batches."""
        net = getattr(model, "module", model)
        if not getattr(net, "fitted_in_one_pass", False):
            return False
        with torch.no_grad():
            net.fit(batches)
        return True

    # -------------------------------------------------------- train / eval
    def train_step(self, model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        net = getattr(model, "module", model)
        args = getattr(net, "loss_args", {})
        if hasattr(net, "init_depth_offset"):
            net.init_depth_offset(batch.targets["depth"])
        depth, normals = models.split_output(model(batch.inputs))
        dl = losses.depth_loss(depth, batch.targets["depth"], str(args.get("depth_loss", losses.DEFAULT_DEPTH_LOSS)),
                               float(args.get("silog_lambda", 0.5)))
        logs = {"loss": dl, "loss_depth": dl.detach()}
        if normals is not None and batch.targets.get("normals") is not None and getattr(net, "normals", True):
            nl = losses.normal_loss(normals, batch.targets["normals"], str(args.get("normals_loss", "angular")))
            logs = {"loss": dl + float(args.get("normals_weight", 1.0)) * nl, "loss_depth": dl.detach(),
                    "loss_normals": nl.detach()}
        return logs

    def predict_step(self, model: nn.Module, batch: Batch, options: Any = None) -> list[Any]:
        out = model(batch.inputs).float()
        preds = []
        for i, meta in enumerate(batch.meta):
            h, w = meta["orig_size"]
            x = out[i : i + 1]
            if tuple(x.shape[-2:]) != (h, w):
                x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
            depth, normals = models.split_output(x)
            if normals is not None:
                normals = F.normalize(normals, dim=1)[0].permute(1, 2, 0).cpu().numpy()
            preds.append({"depth": depth[0, 0].cpu().numpy(), "normals": normals, "source": meta["source"]})
        return preds

    # -------------------------------------------------------------- outputs
    def record(self, prediction: Any, info: DatasetInfo, options: Any = None) -> dict[str, Any]:
        extra = _extra(options)
        folder = extra.get("save_depth")
        stem = getattr(options, "stem", None)  # unique within the predict call, set by the core
        taken = self._taken.setdefault(str(folder), set()) if folder and not stem else set()
        return records.record(prediction, Path(folder) if folder else None, str(extra.get("depth_format", "png")),
                              taken, stem)

    def csv_rows(self, record: dict[str, Any], info: DatasetInfo | None = None) -> list[dict[str, Any]]:
        row = {k: v for k, v in record.items() if not isinstance(v, (list, dict))}
        row.update({f"depth_{k}": v for k, v in record.get("depth", {}).items()})
        if "size" in record:
            row["height"], row["width"] = record["size"]
        return [row]

    def picture(self, source: str, info: DatasetInfo) -> np.ndarray:
        return read_rgb(source)

    def draw(self, image: np.ndarray, prediction: Any, info: DatasetInfo, options: Any = None) -> np.ndarray:
        return draw.side_by_side(image, prediction.get("depth"), prediction.get("normals"))

    def draw_target(self, image: np.ndarray, target: Any, info: DatasetInfo) -> np.ndarray:
        depth, normals = load_target(target)
        return draw.side_by_side(image, depth, normals)
