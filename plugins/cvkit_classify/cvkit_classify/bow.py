"""``--model sift-bow``: the bag of visual words of the course's SIFT recap, fitted in one pass like k-NN.

1. Dense SIFT: each image is un-normalised, turned grey and resized to ``size`` px (default 64); OpenCV's SIFT
   describes a keypoint of diameter ``patch`` (default 16) every ``step`` px (default 4) on a grid that keeps
   whole patches inside the image (``cv2.SIFT_create().compute`` on given keypoints: no detection).
2. Vocabulary: scikit-learn's ``MiniBatchKMeans`` with ``vocab`` (default 256) centres on at most
   ``max_descriptors`` (default 100,000) training descriptors drawn with ``seed``.
3. Encoding: each descriptor votes for its nearest centre; a histogram per cell of a spatial pyramid of
   ``pyramid`` + 1 levels (default 1: the whole image and its 2 x 2 quarters; 0: plain bag of words), counts
   divided by the image's number of descriptors and weighted as Lazebnik et al. (2006): level 0 by ``1/2^L``,
   level ``l >= 1`` by ``1/2^(L-l+1)`` (so that the whole histogram sums to 1).
4. Classifier, one-vs-rest with ``C`` (default 1.0): ``svm=linear`` (default) is scikit-learn's ``LinearSVC``
   on the square roots of the histograms (the Hellinger map, which makes a linear SVM behave like a Bhattacharyya
   kernel); ``svm=chi2`` is an exact chi^2-kernel SVM, ``K(x, y) = exp(-gamma * sum (x - y)^2 / (x + y))``, one
   ``SVC(kernel="precomputed")`` per class, ``gamma`` = 1 / the mean chi^2 distance between training histograms.

Everything fitted (centres, SVM weights or support vectors with their dual coefficients) is a buffer, so the
checkpoint holds plain tensors. The output is one SVM decision value per class (the logits of ``classify``).
The model cannot be exported: SIFT and the histogram run in OpenCV and numpy, outside the torch graph.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from cvkit.errors import CvkitError, UsageError
from cvkit.task import IMAGENET_MEAN, IMAGENET_STD

FITTED = ("centers", "weight", "bias", "support", "dual", "gamma")


class SiftBow(nn.Module):
    fitted_in_one_pass = True  # cvkit.model protocol: fit(batches) instead of gradient descent
    not_exportable = ("dense SIFT (OpenCV) and the visual-word histogram (numpy) run outside the torch graph; "
                      "use the checkpoint with `cvkit predict`")
    default_cfg = {"mean": IMAGENET_MEAN, "std": IMAGENET_STD}

    def __init__(self, num_classes: int, vocab: int = 256, size: int = 64, step: int = 4, patch: int = 16,
                 pyramid: int = 1, svm: str = "linear", C: float = 1.0, max_descriptors: int = 100_000,
                 seed: int = 0) -> None:
        super().__init__()
        if svm not in ("linear", "chi2"):
            raise UsageError(f"--model-arg svm={svm}: expected linear or chi2")
        if patch > size or step < 1 or vocab < 2 or pyramid < 0:
            raise UsageError("sift-bow needs patch <= size, step >= 1, vocab >= 2 and pyramid >= 0")
        self.num_classes, self.vocab, self.size, self.step, self.patch = num_classes, vocab, size, step, patch
        self.levels, self.svm, self.C, self.max_descriptors, self.seed = pyramid, svm, C, max_descriptors, seed
        for name in FITTED:
            self.register_buffer(name, torch.zeros(0))
        self.register_buffer("_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    # ------------------------------------------------------------ features
    def grey(self, x: torch.Tensor) -> list[np.ndarray]:
        """Normalised ``(B, 3, H, W)`` -> grey uint8 images of ``size`` x ``size``."""
        import cv2

        rgb = (x.float() * self._std + self._mean).clamp(0, 1)
        g = (0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]) * 255.0
        arr = g.round().to(torch.uint8).cpu().numpy()
        return [cv2.resize(a, (self.size, self.size), interpolation=cv2.INTER_LINEAR) for a in arr]

    def grid(self) -> np.ndarray:
        half = self.patch / 2.0
        coords = np.arange(half, self.size - half + 1e-9, self.step)
        return np.array([(x, y) for y in coords for x in coords], np.float32)

    def descriptors(self, images: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
        """Dense SIFT descriptors ``(n, 128)`` per image, and the grid positions ``(n, 2)`` (the same for all)."""
        import cv2

        sift = cv2.SIFT_create()
        pts = self.grid()
        out = []
        for img in images:
            kps = [cv2.KeyPoint(float(x), float(y), float(self.patch)) for x, y in pts]
            kept, desc = sift.compute(img, kps)
            if desc is None or len(kept) != len(pts):
                raise CvkitError(f"dense SIFT kept {0 if desc is None else len(kept)} of {len(pts)} grid points; "
                                 "use a smaller --model-arg patch or a larger size")
            out.append(desc.astype(np.float32))
        return out, pts

    def _cells(self, pts: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """For each pyramid cell, the grid point indices inside it and the cell's weight."""
        cells = []
        top = self.levels
        for level in range(top + 1):
            n = 2**level
            weight = 1.0 / 2**top if level == 0 else 1.0 / 2 ** (top - level + 1)
            ix = np.minimum((pts[:, 0] / self.size * n).astype(int), n - 1)
            iy = np.minimum((pts[:, 1] / self.size * n).astype(int), n - 1)
            for cy in range(n):
                for cx in range(n):
                    cells.append((np.nonzero((ix == cx) & (iy == cy))[0], weight))
        return cells

    def encode(self, descs: list[np.ndarray], pts: np.ndarray) -> np.ndarray:
        """Pyramid histograms ``(B, vocab * cells)`` (float64) of each image's descriptors."""
        centers = self.centers.double()
        cells = self._cells(pts)
        rows = []
        for d in descs:
            words = torch.cdist(torch.from_numpy(d).double(), centers).argmin(1).numpy()
            parts = []
            for idx, weight in cells:
                h = np.bincount(words[idx], minlength=self.vocab).astype(np.float64)
                parts.append(weight * h / max(len(words), 1))
            rows.append(np.concatenate(parts))
        return np.stack(rows)

    # ---------------------------------------------------------- one pass
    @torch.no_grad()
    def fit(self, batches: Iterator[Any]) -> None:
        from sklearn.cluster import MiniBatchKMeans

        descs, labels, pts = [], [], None
        for batch in batches:
            d, pts = self.descriptors(self.grey(batch.inputs))
            descs += d
            labels.append(batch.targets.cpu().numpy())
        if not descs:
            raise CvkitError("sift-bow: the training split is empty")
        y = np.concatenate(labels)
        pool = np.concatenate(descs)
        rng = np.random.default_rng(self.seed)
        if len(pool) > self.max_descriptors:
            pool = pool[rng.choice(len(pool), self.max_descriptors, replace=False)]
        km = MiniBatchKMeans(self.vocab, random_state=self.seed, n_init=3, batch_size=4096).fit(pool)
        self.centers = torch.from_numpy(km.cluster_centers_.astype(np.float32))
        hist = self.encode(descs, pts)
        if self.svm == "linear":
            self._fit_linear(np.sqrt(hist), y)
        else:
            self._fit_chi2(hist, y)

    def _fit_linear(self, feats: np.ndarray, y: np.ndarray) -> None:
        from sklearn.svm import LinearSVC

        w = np.zeros((self.num_classes, feats.shape[1]))
        b = np.full(self.num_classes, -1.0)  # a class absent from training is never the best
        for c in range(self.num_classes):
            if (y == c).any() and (y != c).any():
                svc = LinearSVC(C=self.C, random_state=self.seed, max_iter=5000).fit(feats, y == c)
                w[c], b[c] = svc.coef_[0], svc.intercept_[0]
        self.weight, self.bias = torch.from_numpy(w).float(), torch.from_numpy(b).float()

    def _fit_chi2(self, hist: np.ndarray, y: np.ndarray) -> None:
        from sklearn.svm import SVC

        dist = chi2_distance(hist, hist)
        gamma = 1.0 / max(float(dist.mean()), 1e-12)
        k = np.exp(-gamma * dist)
        dual = np.zeros((self.num_classes, len(hist)))
        bias = np.full(self.num_classes, -1.0)
        for c in range(self.num_classes):
            if (y == c).any() and (y != c).any():
                svc = SVC(kernel="precomputed", C=self.C).fit(k, y == c)
                dual[c, svc.support_] = svc.dual_coef_[0]
                bias[c] = svc.intercept_[0]
        used = np.nonzero(np.abs(dual).sum(0) > 0)[0]  # keep only the support vectors
        self.support = torch.from_numpy(hist[used])
        self.dual, self.bias = torch.from_numpy(dual[:, used]), torch.from_numpy(bias)
        self.gamma = torch.tensor([gamma], dtype=torch.float64)

    # ------------------------------------------------------------ predict
    def decision(self, hist: np.ndarray) -> np.ndarray:
        """SVM decision values ``(B, classes)`` of pyramid histograms."""
        if self.svm == "linear":
            return np.sqrt(hist) @ self.weight.double().numpy().T + self.bias.double().numpy()
        k = np.exp(-float(self.gamma[0]) * chi2_distance(hist, self.support.double().numpy()))
        return k @ self.dual.double().numpy().T + self.bias.double().numpy()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
            raise CvkitError(f"sift-bow cannot be exported: {self.not_exportable}")
        if self.centers.numel() == 0:
            raise CvkitError("the sift-bow model has not been fitted (train it with "
                             "`cvkit train classify --model sift-bow`)")
        descs, pts = self.descriptors(self.grey(x))
        scores = self.decision(self.encode(descs, pts))
        return torch.from_numpy(scores).float().to(x.device)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any, **kwargs: Any) -> None:
        for name in FITTED:
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name]))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def chi2_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``D[i, j] = sum_k (a_ik - b_jk)^2 / (a_ik + b_jk)`` (0/0 counts 0), so that scikit-learn's
    ``chi2_kernel(a, b, gamma) == exp(-gamma * D)``."""
    out = np.empty((len(a), len(b)))
    for i in range(len(a)):
        s = a[i][None, :] + b
        d = (a[i][None, :] - b) ** 2
        out[i] = np.sum(np.divide(d, s, out=np.zeros_like(d), where=s > 0), axis=1)
    return out


def build_sift_bow(num_classes: int, args: dict[str, Any], pretrained: bool) -> SiftBow:
    if pretrained:
        raise UsageError("--pretrained: sift-bow is fitted from the training set; there are no pretrained weights")
    known = ("vocab", "size", "step", "patch", "pyramid", "svm", "C", "max_descriptors", "seed")
    unknown = [k for k in args if k not in known]
    if unknown:
        raise UsageError(f"--model-arg {unknown[0]}: sift-bow takes {', '.join(known)}")
    return SiftBow(num_classes, **args)
