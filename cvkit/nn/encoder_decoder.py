"""Dense-prediction networks: every one maps a ``(B, 3, H, W)`` image batch to ``(B, out_channels, H, W)`` maps at
the input size. ``out_channels`` is the number of class logits for segmentation or of regressed values per pixel
(1 for depth, 3 for surface normals, 4 for both).

- :class:`UNet` (Ronneberger et al., 2015): a contracting path of double 3x3 convolutions and 2x2 max-pooling, an
  expanding path that upsamples (bilinear, or a learnt 2x2 transpose convolution with ``up="transpose"``) and
  concatenates the encoder map of the same resolution (skip connection) before two more convolutions. ``width`` (16)
  channels at full resolution, doubling per level over ``depth`` (4) levels.
- :class:`EncoderDecoder` (DeconvNet, Noh et al. 2015; SegNet, Badrinarayanan et al. 2015): the encoder pools and
  remembers where each maximum was; the decoder max-unpools to those positions and densifies with 3x3 transpose
  convolutions ("deconvolution"); ``up="transpose"`` replaces unpooling with a learnt stride-2 transpose convolution.
- :class:`FCN` (Long, Shelhamer & Darrell, 2015): a VGG-like backbone of five stages, 3x3 "fc6" and 1x1 "fc7" at
  stride 32, 1x1 scores, upsampled straight (``32s``) or fused with pool4 (``16s``) and pool3 (``8s``) scores
  through transpose convolutions initialised to bilinear.
- :class:`DeepLab` (Chen et al., DeepLabv3+, 2018, in small): a backbone at output stride 8 whose last stage uses
  dilated convolutions, atrous spatial pyramid pooling (parallel 3x3 convolutions at several rates plus image
  pooling), and a light decoder that fuses the stride-2 features before the head.

Any input size works (decoder maps are resized to their skip's size).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cvkit.errors import UsageError
from cvkit.nn.blocks import conv_norm_act, double_conv, norm_layer, resize_to

__all__ = ["FCN", "UNet", "DeepLab", "EncoderDecoder", "bilinear_kernel", "upsample2x"]


class Up(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int, up: str, norm: str) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cin // 2, 2, stride=2) if up == "transpose" else None
        self.conv = double_conv((cin // 2 if self.up is not None else cin) + cskip, cout, norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        if self.up is not None:
            x = self.up(x)
            dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
            x = F.pad(x, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])
        else:
            x = resize_to(x, skip.shape[-2:])
        return self.conv(torch.cat([skip, x], 1))


class UNet(nn.Module):
    backbone_modules = ("down",)  # frozen by --freeze-backbone

    def __init__(self, out_channels: int, width: int = 16, depth: int = 4, up: str = "bilinear", norm: str = "bn"):
        super().__init__()
        if up not in ("bilinear", "transpose"):
            raise UsageError(f"up={up!r}: expected bilinear or transpose")
        if depth < 2:
            raise UsageError(f"depth={depth}: a U-Net needs at least 2 levels")
        widths = [width * 2**i for i in range(depth)]
        self.down = nn.ModuleList([double_conv(3, widths[0], norm)])
        self.down.extend(double_conv(a, b, norm) for a, b in zip(widths[:-1], widths[1:], strict=True))
        self.ups = nn.ModuleList(Up(widths[i + 1], widths[i], widths[i], up, norm) for i in reversed(range(depth - 1)))
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The full-resolution decoder map the 1x1 head reads."""
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2, ceil_mode=True))
            skips.append(x)
        x = skips.pop()
        for up in self.ups:
            x = up(x, skips.pop())
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def deconv_block(cin: int, cout: int, norm: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in ((cin, cin), (cin, cout)):
        layers += [nn.ConvTranspose2d(a, b, 3, stride=1, padding=1, bias=False), norm_layer(norm, b),
                   nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class EncoderDecoder(nn.Module):
    backbone_modules = ("encoder",)  # frozen by --freeze-backbone

    def __init__(self, out_channels: int, widths: tuple[int, ...] = (16, 32, 64, 128), up: str = "unpool",
                 norm: str = "bn") -> None:
        super().__init__()
        if up not in ("unpool", "transpose"):
            raise UsageError(f"up={up!r}: expected unpool or transpose")
        self.up = up
        chans = [3, *widths]
        self.encoder = nn.ModuleList(double_conv(a, b, norm) for a, b in zip(chans[:-1], chans[1:], strict=True))
        outs = [widths[0], *widths[:-1]]  # decoder stage k maps widths[k] -> widths[k-1] (the first keeps its width)
        self.decoder = nn.ModuleList(deconv_block(widths[k], outs[k], norm) for k in range(len(widths)))
        self.upconv = nn.ModuleList(nn.ConvTranspose2d(w, w, 2, stride=2) for w in widths) if up == "transpose" \
            else None
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        trail = []
        for stage in self.encoder:
            x = stage(x)
            size = x.shape[-2:]
            x, idx = F.max_pool2d(x, 2, ceil_mode=True, return_indices=True)
            trail.append((size, idx))
        for k in reversed(range(len(self.decoder))):
            size, idx = trail[k]
            if self.upconv is None:
                x = F.max_unpool2d(x, idx, 2, output_size=size)
            else:
                x = self.upconv[k](x)[..., : size[0], : size[1]]
                x = F.pad(x, [0, size[1] - x.shape[-1], 0, size[0] - x.shape[-2]])
            x = self.decoder[k](x)
        return self.head(x)


def bilinear_kernel(channels: int, k: int) -> torch.Tensor:
    """Weights of a ``k x k`` transpose convolution that performs bilinear upsampling channel by channel."""
    factor = (k + 1) // 2
    centre = factor - 1 if k % 2 == 1 else factor - 0.5
    og = torch.arange(k, dtype=torch.float32)
    filt = 1 - (og - centre).abs() / factor
    kernel = filt[:, None] * filt[None, :]
    w = torch.zeros(channels, channels, k, k)
    w[range(channels), range(channels)] = kernel
    return w


def upsample2x(channels: int) -> nn.ConvTranspose2d:
    up = nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1, bias=False)
    with torch.no_grad():
        up.weight.copy_(bilinear_kernel(channels, 4))
    return up


class FCN(nn.Module):
    backbone_modules = ("stages",)  # frozen by --freeze-backbone

    def __init__(self, out_channels: int, variant: str = "8s", widths: tuple[int, ...] = (16, 32, 64, 128, 128),
                 fc: int = 256, norm: str = "bn") -> None:
        super().__init__()
        if variant not in ("32s", "16s", "8s"):
            raise UsageError(f"variant={variant!r}: expected 32s, 16s or 8s")
        if len(widths) != 5:
            raise UsageError(f"widths={list(widths)}: FCN needs five stage widths")
        self.variant = variant
        chans = [3, *widths]
        self.stages = nn.ModuleList(double_conv(a, b, norm) for a, b in zip(chans[:-1], chans[1:], strict=True))
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.fc = nn.Sequential(conv_norm_act(widths[-1], fc, 3, norm=norm), conv_norm_act(fc, fc, 1, norm=norm),
                                nn.Dropout2d(0.1))
        self.score = nn.Conv2d(fc, out_channels, 1)
        self.score_pool4 = nn.Conv2d(widths[3], out_channels, 1) if variant in ("16s", "8s") else None
        self.score_pool3 = nn.Conv2d(widths[2], out_channels, 1) if variant == "8s" else None
        self.up32 = upsample2x(out_channels) if self.score_pool4 is not None else None
        self.up16 = upsample2x(out_channels) if self.score_pool3 is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        pools = []
        for stage in self.stages:
            x = self.pool(stage(x))
            pools.append(x)
        y = self.score(self.fc(x))
        if self.score_pool4 is not None:
            p4 = self.score_pool4(pools[3])
            y = resize_to(self.up32(y), p4.shape[-2:]) + p4
        if self.score_pool3 is not None:
            p3 = self.score_pool3(pools[2])
            y = resize_to(self.up16(y), p3.shape[-2:]) + p3
        return resize_to(y, size)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: a 1x1 branch, 3x3 branches at ``rates``, image pooling; concatenated, 1x1."""

    def __init__(self, cin: int, cout: int, rates: tuple[int, ...], norm: str) -> None:
        super().__init__()
        self.branches = nn.ModuleList([conv_norm_act(cin, cout, 1, norm=norm)])
        self.branches.extend(conv_norm_act(cin, cout, 3, norm=norm, dilation=r) for r in rates)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1, bias=False), nn.ReLU(inplace=True))
        self.project = conv_norm_act(cout * (len(rates) + 2), cout, 1, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [b(x) for b in self.branches]
        outs.append(self.pool(x).expand(-1, -1, *x.shape[-2:]))
        return self.project(torch.cat(outs, 1))


class DeepLab(nn.Module):
    backbone_modules = ("stages", "dilated")  # frozen by --freeze-backbone

    def __init__(self, out_channels: int, widths: tuple[int, ...] = (16, 32, 64, 128), aspp: int = 64,
                 rates: tuple[int, ...] = (2, 4, 6), norm: str = "bn") -> None:
        super().__init__()
        if len(widths) != 4:
            raise UsageError(f"widths={list(widths)}: DeepLab needs four stage widths")
        chans = [3, *widths[:3]]
        # stages 1-3 pool after their convolutions (output stride 8); stage 4 keeps stride 8 with dilation 2
        self.stages = nn.ModuleList(double_conv(a, b, norm) for a, b in zip(chans[:-1], chans[1:], strict=True))
        self.dilated = nn.Sequential(conv_norm_act(widths[2], widths[3], norm=norm, dilation=2),
                                     conv_norm_act(widths[3], widths[3], norm=norm, dilation=2))
        self.aspp = ASPP(widths[3], aspp, tuple(int(r) for r in rates), norm)
        self.low = conv_norm_act(widths[0], widths[0], 1, norm=norm)
        self.decoder = double_conv(aspp + widths[0], aspp, norm)
        self.head = nn.Conv2d(aspp, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        low = None
        for i, stage in enumerate(self.stages):
            x = F.max_pool2d(stage(x), 2, ceil_mode=True)
            if i == 0:
                low = x  # stride 2
        y = self.aspp(self.dilated(x))
        y = self.decoder(torch.cat([self.low(low), resize_to(y, low.shape[-2:])], 1))
        return resize_to(self.head(y), size)
