"""Dense-regression models: the core's encoder-decoders (:mod:`cvkit.nn.encoder_decoder`) with regression heads,
and the mean-training-map baseline.

Every model maps a normalised ``(B, 3, H, W)`` batch to ``(B, C, H, W)``: channel 0 is depth in metres (the
network regresses the log ratio of depth to the median training depth, :meth:`DenseRegressor.init_depth_offset`;
its exponential keeps depth positive) and, when the model predicts normals, channels 1-3 are unit normals (the raw
3-vector normalised). ``--model-arg`` keys: ``width``/``depth``/``up``/``norm`` (unet; 12 and 5 by default,
:data:`UNET_DEFAULTS`), ``variant``/``widths``/``fc`` (fcn), ``widths``/``up`` (encoder-decoder),
``widths``/``aspp``/``rates`` (deeplab); the loss and data keys (:data:`LOSS_ARGS`, :data:`DATA_ARGS`) are read by
the task and the dataset.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cvkit.errors import UsageError
from cvkit.nn.blocks import guard_batchnorm
from cvkit_dense.losses import DEFAULT_DEPTH_LOSS, DEPTH_LOSSES, NORMAL_LOSSES

NETWORKS = ("unet", "fcn", "encoder-decoder", "deeplab")
NAMES = (*NETWORKS, "mean-map")
LOSS_ARGS = ("depth_loss", "silog_lambda", "normals_weight", "normals_loss")
DATA_ARGS = ("input_height", "augment", "targets")
LOG_DEPTH_RANGE = (-7.0, 7.0)  # exp: 0.9 mm .. 1.1 km
# the dense U-Net's own defaults (the core's are segment's, 16 and 4): five levels give the bottleneck a view of the
# whole 96x128 room (the absolute scale is read from the room's layout) for less compute than four levels of 16
UNET_DEFAULTS = {"width": 12, "depth": 5}


def split_output(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(depth (B,1,H,W), normals (B,3,H,W) or None)`` of a model output."""
    return out[:, :1], (out[:, 1:4] if out.shape[1] >= 4 else None)


class DenseRegressor(nn.Module):
    """An encoder-decoder ``net`` whose raw maps become depth (exp of channel 0) and unit normals (channels 1-3)."""

    def __init__(self, net: nn.Module, normals: bool) -> None:
        super().__init__()
        self.net = net
        self.normals = normals
        self.backbone_modules = tuple(f"net.{n}" for n in getattr(net, "backbone_modules", ()))
        self.head_module = "net.head" if isinstance(getattr(net, "head", None), nn.Module) else ""
        # ln(metres) added to channel 0: the median log depth of the first training batch, so that the network
        # starts at the data's typical depth and regresses only the log ratio to it
        self.register_buffer("depth_offset", torch.zeros(()))
        self.register_buffer("depth_offset_set", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def init_depth_offset(self, depth: torch.Tensor) -> None:
        """Set :attr:`depth_offset` from ground-truth depth ``(B, 1, H, W)`` (0 = none), once per model."""
        valid = depth[depth > 0]
        if bool(self.depth_offset_set) or valid.numel() == 0:
            return
        self.depth_offset.fill_(float(torch.log(valid.float()).median()))
        self.depth_offset_set.fill_(True)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any) -> None:
        for key in ("depth_offset", "depth_offset_set"):  # checkpoints written before the offset existed: none
            state_dict.setdefault(prefix + key, torch.zeros((), dtype=getattr(self, key).dtype))
        super()._load_from_state_dict(state_dict, prefix, *args)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)  # NHWC: oneDNN's faster layout on CPUs
        raw = self.net(x)
        depth = torch.exp((raw[:, :1] + self.depth_offset).clamp(*LOG_DEPTH_RANGE))
        if not self.normals:
            return depth
        return torch.cat([depth, F.normalize(raw[:, 1:4], dim=1)], 1)


class MeanMap(nn.Module):
    """The baseline: the per-pixel mean of the training depth maps (over valid pixels) and the normalised mean of
    the training normals, at the input size, whatever the image. Fitted in one pass."""

    fitted_in_one_pass = True

    def __init__(self, normals: bool, height: int, width: int) -> None:
        super().__init__()
        self.normals = normals
        self.register_buffer("depth", torch.ones(1, 1, height, width))
        self.register_buffer("normal", torch.zeros(1, 3, height, width))
        self.anchor = nn.Parameter(torch.zeros(()))  # keeps optimisers and DDP content; never trained

    def fit(self, batches: Any) -> None:
        dsum = dcount = nsum = None
        for batch in batches:
            gt = batch.targets["depth"].float()
            valid = (gt > 0).float()
            dsum = (gt * valid).sum(0) + (0 if dsum is None else dsum)
            dcount = valid.sum(0) + (0 if dcount is None else dcount)
            if self.normals and batch.targets.get("normals") is not None:
                n = batch.targets["normals"].float()
                nsum = (n * (n.norm(dim=1, keepdim=True) > 0.5)).sum(0) + (0 if nsum is None else nsum)
        if dsum is None:
            return
        overall = dsum.sum() / dcount.sum().clamp_min(1)
        mean = torch.where(dcount > 0, dsum / dcount.clamp_min(1), overall)
        self.depth.copy_(F.interpolate(mean[None], size=self.depth.shape[-2:], mode="bilinear"))
        if nsum is not None:
            self.normal.copy_(F.normalize(F.interpolate(nsum[None], size=self.normal.shape[-2:], mode="bilinear"),
                                          dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        maps = torch.cat([self.depth, self.normal], 1) if self.normals else self.depth
        maps = F.interpolate(maps, size=(h, w), mode="bilinear") if maps.shape[-2:] != (h, w) else maps
        out = maps.expand(b, -1, -1, -1) + 0 * self.anchor
        return out if not self.normals else torch.cat([out[:, :1], F.normalize(out[:, 1:], dim=1)], 1)


def build(name: str, normals: bool, input_hw: tuple[int, int], args: dict[str, Any]) -> nn.Module:
    """Build ``name`` predicting depth (and normals when ``normals``); ``args``: the run's ``--model-arg`` values."""

    if name not in NAMES:
        raise UsageError(f"unknown dense model {name!r}: choose one of {', '.join(NAMES)}")
    kwargs = {k: v for k, v in args.items() if k not in LOSS_ARGS + DATA_ARGS}
    for key in ("widths", "rates"):
        if key in kwargs:
            kwargs[key] = tuple(int(v) for v in kwargs[key])
    loss_args = {k: args[k] for k in LOSS_ARGS if k in args}
    if str(loss_args.get("depth_loss", DEFAULT_DEPTH_LOSS)) not in DEPTH_LOSSES:
        raise UsageError(f"depth_loss={loss_args['depth_loss']!r}: expected one of {', '.join(DEPTH_LOSSES)}")
    if str(loss_args.get("normals_loss", "angular")) not in NORMAL_LOSSES:
        raise UsageError(f"normals_loss={loss_args['normals_loss']!r}: expected one of {', '.join(NORMAL_LOSSES)}")
    model = _build(name, normals, input_hw, kwargs)
    model.loss_args = loss_args  # read by the task's train_step
    return model


def _build(name: str, normals: bool, input_hw: tuple[int, int], kwargs: dict[str, Any]) -> nn.Module:
    from cvkit.nn import encoder_decoder as ed

    if name == "mean-map":
        if kwargs:
            raise UsageError(f"mean-map takes no model arguments (got {', '.join(kwargs)})")
        return MeanMap(normals, *input_hw)
    if name == "unet":
        kwargs = {**UNET_DEFAULTS, **kwargs}
    cls = {"unet": ed.UNet, "fcn": ed.FCN, "encoder-decoder": ed.EncoderDecoder, "deeplab": ed.DeepLab}[name]
    try:
        net = cls(4 if normals else 1, **kwargs)
    except TypeError as exc:
        raise UsageError(f"bad arguments for model {name!r} {kwargs}: {exc}") from None
    return guard_batchnorm(DenseRegressor(net, normals)).to(memory_format=torch.channels_last)
