"""The pose task: wires formats, models, crops, loss, decoding, metric, records and drawing to the core.

Top-down heatmap models (``simple-baseline``, ``hourglass``) see one person per crop: in training each annotated
person, in evaluation each scorable annotated person's crop (from the annotation's centre and scale, or box), and
in ``cvkit predict``, which has no person boxes, the whole image as one person crop (centred square, side = the
longer edge). ``keypoint-rcnn`` sees whole images and finds the people itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from cvkit.errors import CvkitError
from cvkit.task import (
    NO_OPTIONS,
    Batch,
    DatasetInfo,
    ModelConfig,
    PredictOptions,
    RawSplit,
    Task,
    ValidationPicture,
)
from cvkit.vision.backmap import boxes_to_original, keypoints_to_original
from cvkit_pose import draw, heatmaps, models, records, transforms
from cvkit_pose.data import ImageCrops, PersonCrops, PoseDataset, WholeImages
from cvkit_pose.metrics.evaluator import empty_prediction
from cvkit_pose.scoring import PoseScoring


def _unwrap(model: nn.Module) -> nn.Module:
    return getattr(model, "module", model)


def joints_mse(output: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """HRNet's JointsMSELoss: ``0.5 * mean((w * (pred - target)) ** 2)`` over joints and pixels."""
    w = weights[:, :, None, None]
    return 0.5 * ((output.float() - target) * w).pow(2).mean()


class PoseTask(PoseScoring, Task):
    """Formats, embedded data, metric and record parsing come from :class:`PoseScoring` (torch-free)."""

    default_model = "simple-baseline"
    default_img_size = 256
    default_epochs = 140
    default_batch_size = 32
    default_lr = 1e-3
    default_optimizer = "adamw"
    default_weight_decay = 1e-4
    default_warmup_epochs = 0.5
    default_schedule = "cosine"
    default_input_size = (3, 256, 256)

    def defaults_for(self, data: str, model: str) -> dict[str, Any]:
        """Keypoint R-CNN: whole images upscaled to 128 px (its smallest anchors are 32 px), batches of 8. (The
        stickmen's own settings are in their dataset card.)"""
        if model == "keypoint-rcnn":
            return {"img_size": 128, "batch_size": 8, "lr": 1e-3}
        return {}

    # ----------------------------------------------------------------- data
    def dataset(self, raw: RawSplit, model: ModelConfig, train: bool) -> PoseDataset:
        if not models.is_heatmap(model.name):
            return WholeImages(raw.info, raw.sources, raw.targets, model, train, raw.files)
        if train:
            return PersonCrops(raw, model)
        return ImageCrops(raw.info, raw.sources, raw.targets, model, raw.files)

    def predict_dataset(self, sources: list[str], model: ModelConfig, info: DatasetInfo) -> PoseDataset:
        if not models.is_heatmap(model.name):
            return WholeImages(info, list(sources), None, model, False)
        return ImageCrops(info, list(sources), None, model)

    def collate(self, samples: list[Any]) -> Batch:
        meta = [s["meta"] for s in samples]
        if "heatmaps" in samples[0]:
            targets = {"heatmaps": torch.stack([s["heatmaps"] for s in samples]),
                       "weights": torch.stack([s["weights"] for s in samples])}
            return Batch(torch.stack([s["image"] for s in samples]), targets, [], meta)
        if "crops" in samples[0]:
            return Batch(torch.cat([s["crops"] for s in samples]), None, [], meta)
        targets = [s["target"] for s in samples]
        return Batch(torch.stack([s["image"] for s in samples]),
                     None if any(t is None for t in targets) else targets, [], meta)

    # ---------------------------------------------------------------- model
    def model_names(self) -> list[str]:
        return list(models.MODELS)

    def build_model(self, config: ModelConfig, info: DatasetInfo) -> nn.Module:
        return models.build(config.name, len(info.classes), config.img_size, config.args, config.pretrained)

    # -------------------------------------------------------- train / eval
    def train_step(self, model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        if isinstance(batch.targets, list):  # Keypoint R-CNN: its own loss dict
            losses = model(batch.inputs, batch.targets)
            return {"loss": sum(losses.values()), **{k: v.detach() for k, v in losses.items()}}
        out = model(batch.inputs)
        outs = out if isinstance(out, (list, tuple)) else [out]
        hm, w = batch.targets["heatmaps"], batch.targets["weights"]
        losses = [joints_mse(o, hm, w) for o in outs]
        logs = {"loss": sum(losses)}
        if len(losses) > 1:
            logs["loss_last_stack"] = losses[-1].detach()
        return logs

    def predict_step(self, model: nn.Module, batch: Batch,
                     options: PredictOptions = NO_OPTIONS) -> list[dict[str, Any]]:
        preds = self._heatmap_predict(model, batch) if "crops" in batch.meta[0] else self._rcnn_predict(model, batch)
        conf = options.conf
        if conf is not None:
            for p in preds:
                keep = np.asarray(p["scores"]) >= conf
                for key in ("keypoints", "boxes", "scores"):
                    p[key] = np.asarray(p[key])[keep]
                if p.get("match") is not None:
                    p["match"] = [m for m, k in zip(p["match"], keep, strict=True) if k]
        return preds

    def _heatmap_predict(self, model: nn.Module, batch: Batch) -> list[dict[str, Any]]:
        opts = batch.meta[0]["decode"]
        k = len(opts["flip_index"])
        x = batch.inputs
        if len(x):
            out = model(x)
            hm = (out[-1] if isinstance(out, (list, tuple)) else out).float()
            if opts["flip_test"]:
                flipped = model(x.flip(-1))
                flipped = (flipped[-1] if isinstance(flipped, (list, tuple)) else flipped).float()
                hm = (hm + heatmaps.flip_back(flipped, opts["flip_index"])) / 2
            coords, scores = heatmaps.decode(hm.detach().cpu().numpy(), opts["decode"], opts["sigma"])
            coords = transforms.heatmap_to_input(coords, opts["stride"])
        else:
            coords, scores = np.zeros((0, k, 2)), np.zeros((0, k))
        preds, start = [], 0
        for meta in batch.meta:
            h, w = meta["orig_size"]
            size = meta["input_size"][0]
            kps, boxes = [], []
            for n, crop in enumerate(meta["crops"]):
                back = transforms.invert(transforms.crop_matrix(crop, size))
                pts = transforms.apply(back, coords[start + n])
                kps.append(np.concatenate([pts, scores[start + n][:, None]], 1))
                cx, cy, side = crop
                boxes.append(np.clip([cx + 0.5 - side / 2, cy + 0.5 - side / 2, cx + 0.5 + side / 2,
                                      cy + 0.5 + side / 2], 0, [w, h, w, h]))
            n = len(meta["crops"])
            start += n
            if not n:
                preds.append({**empty_prediction(k), "match": meta.get("match")})
                continue
            kp = np.stack(kps)
            preds.append({"keypoints": kp, "boxes": np.array(boxes, np.float64), "scores": kp[..., 2].mean(1),
                          "match": meta.get("match")})
        return preds

    def _rcnn_predict(self, model: nn.Module, batch: Batch) -> list[dict[str, Any]]:
        preds = []
        for det, meta in zip(model(batch.inputs), batch.meta, strict=True):
            kp = keypoints_to_original(det["keypoints"].detach().float().cpu().numpy(), meta["input_size"],
                                       meta["orig_size"])
            kp[..., 2] = torch.sigmoid(det["keypoints_scores"].detach().float().cpu()).numpy()
            boxes = boxes_to_original(det["boxes"], meta["input_size"], meta["orig_size"]).numpy().astype(np.float64)
            preds.append({"keypoints": kp, "boxes": boxes, "scores": det["scores"].detach().float().cpu().numpy()})
        return preds

    # -------------------------------------------------------------- outputs
    def record(self, prediction: Any, info: DatasetInfo, options: PredictOptions = NO_OPTIONS) -> dict[str, Any]:
        return records.record(prediction, info)

    def csv_rows(self, record: dict[str, Any], info: DatasetInfo | None = None) -> list[dict[str, Any]]:
        return records.csv_rows(record, list(info.classes) if info is not None else None)

    def coco_results(self, prediction: Any, info: DatasetInfo, image_id: Any) -> list[dict[str, Any]]:
        return records.coco_results(prediction, info, image_id)

    def draw(self, image: np.ndarray, prediction: Any, info: DatasetInfo,
             options: PredictOptions = NO_OPTIONS) -> np.ndarray:
        return draw.draw_prediction(image, prediction, info)

    def draw_target(self, image: np.ndarray, target: Any, info: DatasetInfo) -> np.ndarray:
        if target is None:
            raise CvkitError("no annotation to draw")
        return draw.draw_target(image, target, info)

    def validation_picture(self, image: np.ndarray, prediction: Any, target: Any, info: DatasetInfo
                           ) -> ValidationPicture:
        """Joints farther than half a head size from the truth (PCKh@0.5) are red; unpredicted people count."""
        bad, wrong, missed = draw.wrong_joints(prediction, target, draw.pairs(prediction, target))
        return ValidationPicture(draw.draw_target(image, target, info), draw.draw_prediction(image, prediction, info,
                                 bad), bool(wrong or missed), f"{wrong} joints off, {missed} missed")
