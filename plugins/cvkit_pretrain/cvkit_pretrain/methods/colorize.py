"""Colourisation (Zhang et al. 2016): predict the ab channels of Lab from L alone.

``loss=classify`` (default): a distribution over the quantised in-gamut ab bins per pixel (at a quarter of the
input size), trained against soft-encoded targets (the 5 nearest bins, Gaussian weights, sigma 5) with class
rebalancing: a pixel whose true colour falls in bin q weighs w_q proportional to ((1 - lam) p~_q + lam / Q)^-1,
normalised so that the expected weight is 1, where p~ is the ab histogram of the training images seen so far
(kept in the checkpoint), smoothed by the same Gaussian, and lam = ``rebalance`` (0 disables it). Colours are
decoded as the annealed mean (temperature 0.38). ``loss=regression``: ab regressed directly (smooth L1).
``split_brain=true``: a second encoder of the same architecture predicts L from ab (regression) and the features
are both encoders' concatenated (Zhang et al. 2017); the first (L -> ab) is the one handed over to other tasks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from cvkit.errors import UsageError
from cvkit_pretrain.encoders import build_encoder, feature_map
from cvkit_pretrain.lab import AB_RANGE, ab_bins, lab_to_rgb, rgb_to_lab

from .base import Method, decode, decoder

if TYPE_CHECKING:
    from cvkit_pretrain.models import PretrainModel

SIGMA = 5.0
NEAREST = 5
ANNEAL_T = 0.38
LOSSES = ("classify", "regression")


def soft_encode(ab: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """(B, 2, h, w) ab -> (B, Q, h, w) weights on the ``NEAREST`` closest bins (Gaussian, summing to 1)."""
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    d2 = torch.cdist(flat, bins.to(flat)) ** 2
    near, idx = d2.topk(min(NEAREST, bins.shape[0]), dim=1, largest=False)
    w = torch.exp(-near / (2 * SIGMA**2))
    w = w / w.sum(1, keepdim=True)
    out = torch.zeros(flat.shape[0], bins.shape[0], device=ab.device, dtype=flat.dtype).scatter_(1, idx, w)
    b, _, h, wd = ab.shape
    return out.view(b, h, wd, -1).permute(0, 3, 1, 2)


def rebalance_weights(counts: torch.Tensor, bins: torch.Tensor, lam: float) -> torch.Tensor:
    """w_q of every bin from the raw histogram ``counts`` (see the module docstring)."""
    q = bins.shape[0]
    if not float(counts.sum()) > 0:
        return torch.ones_like(counts)
    p = counts / counts.sum().clamp(min=1e-12)
    kernel = torch.exp(-torch.cdist(bins, bins) ** 2 / (2 * SIGMA**2))
    smooth = kernel @ p
    smooth = smooth / smooth.sum().clamp(min=1e-12)
    w = 1.0 / ((1 - lam) * smooth + lam / q)
    return w / (smooth * w).sum()


def annealed_mean(logits: torch.Tensor, bins: torch.Tensor, t: float = ANNEAL_T) -> torch.Tensor:
    """(B, Q, h, w) logits -> (B, 2, h, w) ab: the mean of the distribution sharpened by temperature ``t``."""
    p = torch.softmax(logits.float() / t, dim=1)
    return torch.einsum("bqhw,qc->bchw", p, bins.to(p))


class Colorize(Method):
    name = "colorize"
    options = {"loss": "classify", "rebalance": 0.5, "split_brain": False}

    def build(self, model: PretrainModel) -> None:
        if self.args["loss"] not in LOSSES:
            raise UsageError(f"--model-arg loss={self.args['loss']}: expected one of {', '.join(LOSSES)}")
        self.lam = float(self.args["rebalance"])
        if not 0 <= self.lam <= 1:
            raise UsageError(f"--model-arg rebalance={self.lam}: expected a value in [0, 1]")
        size, fmap = model.img_size, model.fmap_size
        self.out_size = max(1, size // 4)
        bins = ab_bins()
        model.register_buffer("ab_bins", bins.clone())
        model.register_buffer("ab_counts", torch.zeros(len(bins)))
        out = len(bins) if self.args["loss"] == "classify" else 2
        model.head = decoder(model.dim, out, fmap, self.out_size, extra=1)
        if self.args["split_brain"]:
            model.backbone2, _, _ = build_encoder(model.encoder)
            model.head2 = decoder(model.dim, 1, fmap, self.out_size, extra=2)

    def encoder_input(self, model: PretrainModel, x: torch.Tensor) -> torch.Tensor:
        """The lightness as a grey RGB image."""
        L = rgb_to_lab(x)[:, :1] / 100.0
        return model.normalize(L.expand(-1, 3, -1, -1))

    def ab_input(self, model: PretrainModel, lab: torch.Tensor) -> torch.Tensor:
        ab = lab[:, 1:] / AB_RANGE
        return torch.cat([ab, torch.zeros_like(ab[:, :1])], 1)

    def eval_features(self, model: PretrainModel, x: torch.Tensor) -> torch.Tensor:
        f = self.features(model, x)
        if self.args["split_brain"]:
            f = torch.cat([f, model.backbone2(self.ab_input(model, rgb_to_lab(x)))], 1)
        return f

    def predict_ab(self, model: PretrainModel, x: torch.Tensor, lab: torch.Tensor) -> torch.Tensor:
        """Raw head output (bin logits or ab / 110) at the output size."""
        small_L = F.adaptive_avg_pool2d(lab[:, :1], self.out_size) / 100.0
        return decode(model.head, feature_map(model.backbone, self.encoder_input(model, x)), self.out_size, small_L)

    def colours(self, model: PretrainModel, x: torch.Tensor) -> torch.Tensor:
        """(B, 2, S/4, S/4) predicted ab of images ``x`` in [0, 1]."""
        out = self.predict_ab(model, x, rgb_to_lab(x))
        return annealed_mean(out, model.ab_bins) if self.args["loss"] == "classify" else out.float() * AB_RANGE

    def loss(self, model: PretrainModel, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        lab = rgb_to_lab(x)
        out = self.predict_ab(model, x, lab)
        true_ab = F.adaptive_avg_pool2d(lab[:, 1:], self.out_size)
        if self.args["loss"] == "regression":
            loss = F.smooth_l1_loss(out.float(), true_ab / AB_RANGE)
        else:
            target = soft_encode(true_ab, model.ab_bins)
            if model.training:
                with torch.no_grad():
                    model.ab_counts += target.sum(dim=(0, 2, 3)).to(model.ab_counts)
            pixel = -(target * F.log_softmax(out.float(), dim=1)).sum(1)
            if self.lam < 1:
                w = rebalance_weights(model.ab_counts, model.ab_bins, self.lam)
                pixel = pixel * w[target.argmax(1)]
            loss = pixel.mean()
        logs = {"loss": loss}
        if self.args["split_brain"]:
            small_ab = F.adaptive_avg_pool2d(self.ab_input(model, lab)[:, :2], self.out_size)
            fmap = feature_map(model.backbone2, self.ab_input(model, lab))
            pred_L = decode(model.head2, fmap, self.out_size, small_ab)
            true_L = F.adaptive_avg_pool2d(lab[:, :1], self.out_size) / 100.0
            logs["l_loss"] = F.smooth_l1_loss(pred_L.float(), true_L)
            logs["loss"] = loss + logs["l_loss"]
        return logs


def colourised(image: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """An RGB image (3, H, W) in [0, 1] with its own lightness and the predicted ``ab`` (2, h, w) resized to it."""
    lab = rgb_to_lab(image[None].float())
    ab_full = F.interpolate(ab[None].float(), size=image.shape[-2:], mode="bilinear", align_corners=False)
    return lab_to_rgb(torch.cat([lab[:, :1], ab_full], 1))[0]
