"""``hog-svm``: the classical sliding-window detector (Dalal & Triggs 2005), multi-class.

Features: OpenCV's HOG on ``window x window`` colour patches (8 px cells, 16 px blocks, 9 bins). Training
(:meth:`HogSvm.fit`, one pass over the training batches, no gradient descent): a square patch around every
ground-truth box (with context: the box is ``1/context`` of the patch side) and its mirror image are positives;
random patches overlapping no object by more than 0.3 IoU are negatives; a scikit-learn ``LinearSVC`` (one-vs-rest
over the classes plus background) is fitted, then hard negatives mined on training images are added and it is
fitted again. Detection: every window of an image pyramid whose levels match the object sizes seen in training
(stride 8 px, plus half-stride shifts), scored by the linear models, kept when a class beats the background,
then per-class NMS. The SVM weights, pyramid sizes and flags live in buffers, so checkpoints hold plain tensors.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn
from torchvision.ops import batched_nms, box_iou

from cvkit_detect.models.hog_common import to_uint8

log = logging.getLogger(__name__)


class HogSvm(nn.Module):
    fitted_in_one_pass = True  # cvkit.model protocol: fit(batches) instead of gradient descent
    not_exportable = ("its forward pass computes HOG features with OpenCV and slides windows in Python, which an "
                      "ONNX or TorchScript graph cannot hold; run the checkpoint itself with `cvkit predict`")

    def __init__(self, num_classes: int, mean: Any, std: Any, window: int = 32, context: float = 1.25,
                 levels: int = 8, C: float = 0.01, negatives_per_image: int = 12, mine_images: int = 400,
                 score_thresh: float = -1.0, nms_iou: float = 0.3, max_detections: int = 100) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.window, self.context, self.C = int(window), float(context), float(C)
        self.negatives_per_image, self.mine_images = int(negatives_per_image), int(mine_images)
        self.score_thresh, self.nms_iou, self.max_detections = score_thresh, nms_iou, max_detections
        self.mean, self.std = tuple(mean), tuple(std)
        dim = int(self._hog().getDescriptorSize())
        self.register_buffer("weight", torch.zeros(num_classes + 1, dim))  # last row: background
        self.register_buffer("bias", torch.zeros(num_classes + 1))
        self.register_buffer("sizes", torch.zeros(int(levels)))  # object sides (input px) of the pyramid levels
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    def _hog(self) -> cv2.HOGDescriptor:
        w = self.window
        return cv2.HOGDescriptor((w, w), (16, 16), (8, 8), (8, 8), 9)

    # ------------------------------------------------------------ features
    def _patch(self, img: np.ndarray, cx: float, cy: float, side: float) -> np.ndarray:
        """The square patch of object side ``side`` centred at (cx, cy), resized to the window (border replicated)."""
        half = side * self.context / 2
        scale = self.window / (2 * half)
        m = np.float32([[scale, 0, self.window / 2 - cx * scale], [0, scale, self.window / 2 - cy * scale]])
        return cv2.warpAffine(img, m, (self.window, self.window), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)

    def _features(self, patches: list[np.ndarray]) -> np.ndarray:
        hog = self._hog()
        if not patches:
            return np.zeros((0, self.weight.shape[1]), np.float32)
        return np.stack([hog.compute(p).reshape(-1) for p in patches])

    def _windows(self, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All pyramid windows: HOG features ``(N, D)`` and their object boxes ``(N, 4)`` in image pixels."""
        hog, w = self._hog(), self.window
        feats, boxes = [], []
        h0, w0 = img.shape[:2]
        for side in self.sizes.tolist():
            if side <= 0:
                continue
            f = w / (side * self.context)
            scaled = cv2.resize(img, (max(1, round(w0 * f)), max(1, round(h0 * f))), interpolation=cv2.INTER_AREA)
            for dx, dy in ((0, 0), (4, 0), (0, 4), (4, 4)):
                part = scaled[dy:, dx:]
                ph, pw = part.shape[:2]
                if ph < w or pw < w:
                    continue
                d = hog.compute(part, (8, 8), (0, 0)).reshape(-1, self.weight.shape[1])
                nx = (pw - w) // 8 + 1
                idx = np.arange(len(d))
                x0 = (idx % nx) * 8 + dx
                y0 = (idx // nx) * 8 + dy
                cx, cy = (x0 + w / 2) / f, (y0 + w / 2) / f
                feats.append(d)
                boxes.append(np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], 1))
        if not feats:
            return np.zeros((0, self.weight.shape[1]), np.float32), np.zeros((0, 4))
        return np.concatenate(feats), np.concatenate(boxes)

    def _scores(self, feats: np.ndarray) -> torch.Tensor:
        x = torch.as_tensor(feats, dtype=torch.float32, device=self.weight.device)
        return x @ self.weight.T + self.bias

    # ------------------------------------------------------------- fitting
    def fit(self, batches: Iterator[Any]) -> None:
        from sklearn.svm import LinearSVC

        rng = np.random.default_rng(0)
        images, gts, pos, pos_y, neg = [], [], [], [], []
        sides: list[float] = []
        for batch in batches:
            for img_t, t in zip(batch.inputs, batch.targets, strict=True):
                img = to_uint8(img_t, self.mean, self.std)
                boxes = t["boxes"].cpu().numpy().astype(np.float64)
                images.append(img)
                gts.append(boxes)
                for b, lab in zip(boxes, t["labels"].tolist(), strict=True):
                    side = float(max(b[2] - b[0], b[3] - b[1], 2.0))
                    sides.append(side)
                    p = self._patch(img, (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, side)
                    pos += [p, p[:, ::-1].copy()]
                    pos_y += [lab, lab]
        if not sides:
            raise ValueError("hog-svm needs training images with objects")
        lo, hi = np.percentile(sides, [2, 98])
        self.sizes.copy_(torch.as_tensor(np.geomspace(max(lo, 4.0), max(hi, lo + 1), len(self.sizes))))
        for img, boxes in zip(images, gts, strict=True):
            neg += self._random_negatives(img, boxes, rng)
        x = np.concatenate([self._features(pos), self._features(neg)])
        y = np.concatenate([np.asarray(pos_y), np.full(len(neg), self.num_classes)])
        svm = LinearSVC(C=self.C, max_iter=5000).fit(x, y)
        self._store(svm)
        hard = self._mine(images[: self.mine_images], gts[: self.mine_images])
        log.info("hog-svm: %d positives, %d negatives, %d hard negatives", len(pos), len(neg), len(hard))
        if len(hard):
            x = np.concatenate([x, hard])
            y = np.concatenate([y, np.full(len(hard), self.num_classes)])
            self._store(LinearSVC(C=self.C, max_iter=5000).fit(x, y))
        self.fitted.fill_(True)

    def _random_negatives(self, img: np.ndarray, boxes: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        h, w = img.shape[:2]
        out = []
        gt = torch.as_tensor(boxes).reshape(-1, 4)
        for _ in range(self.negatives_per_image * 3):
            side = float(rng.choice(self.sizes.cpu().numpy()))
            cx = rng.uniform(side / 2, max(side / 2 + 1, w - side / 2))
            cy = rng.uniform(side / 2, max(side / 2 + 1, h - side / 2))
            box = torch.tensor([[cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2]], dtype=gt.dtype)
            if len(gt) and box_iou(box, gt).max() > 0.3:
                continue
            out.append(self._patch(img, cx, cy, side))
            if len(out) >= self.negatives_per_image:
                break
        return out

    def _store(self, svm: Any) -> None:
        coef, icpt = np.asarray(svm.coef_), np.asarray(svm.intercept_)
        classes = list(svm.classes_)
        if len(classes) == 2:  # binary LinearSVC: one row, positive side = classes_[1]
            coef, icpt = np.concatenate([-coef, coef]), np.concatenate([-icpt, icpt])
        self.weight.zero_()
        self.bias.fill_(-1e3)  # a class never seen in training never wins
        for row, c in enumerate(classes):
            self.weight[int(c)] = torch.as_tensor(coef[row], dtype=torch.float32)
            self.bias[int(c)] = float(icpt[row])

    def _mine(self, images: list[np.ndarray], gts: list[np.ndarray]) -> np.ndarray:
        hard = []
        for img, boxes in zip(images, gts, strict=True):
            feats, wins = self._windows(img)
            if not len(feats):
                continue
            s = self._scores(feats).cpu()
            fg = s[:, : self.num_classes].amax(1)
            cand = (fg > s[:, self.num_classes]) & (fg > -1.0)
            if len(boxes):
                cand &= box_iou(torch.as_tensor(wins), torch.as_tensor(boxes)).amax(1) < 0.3
            idx = torch.nonzero(cand).flatten()
            idx = idx[fg[idx].argsort(descending=True)[:10]]
            hard.append(feats[idx.numpy()])
        return np.concatenate(hard) if hard else np.zeros((0, self.weight.shape[1]), np.float32)

    # ----------------------------------------------------------- detecting
    def forward(self, images: torch.Tensor, targets: list[dict[str, torch.Tensor]] | None = None) -> Any:
        if targets is not None:  # fitted by fit(), not by gradient descent
            return {"loss": self.weight.sum() * 0.0}
        return [self.detect(to_uint8(img, self.mean, self.std)) for img in images]

    def detect(self, img: np.ndarray) -> dict[str, torch.Tensor]:
        dev = self.weight.device
        feats, wins = self._windows(img)
        if not len(feats) or not bool(self.fitted):
            return {"boxes": torch.zeros(0, 4, device=dev), "scores": torch.zeros(0, device=dev),
                    "labels": torch.zeros(0, dtype=torch.long, device=dev)}
        s = self._scores(feats)
        fg, labels = s[:, : self.num_classes].max(1)
        keep = (fg > s[:, self.num_classes]) & (fg > self.score_thresh)
        boxes = torch.as_tensor(wins, dtype=torch.float32, device=dev)[keep]
        h, w = img.shape[:2]
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
        scores, labels = fg[keep], labels[keep]
        k = batched_nms(boxes, scores, labels, self.nms_iou)[: self.max_detections]
        return {"boxes": boxes[k], "scores": torch.sigmoid(scores[k]), "labels": labels[k]}


def build(num_classes: int, img_size: int, args: dict[str, Any], mean: Any = (0.485, 0.456, 0.406),
          std: Any = (0.229, 0.224, 0.225), **_: Any) -> HogSvm:
    return HogSvm(num_classes, mean, std, **args)
