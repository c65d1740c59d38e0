"""A small Segment-Anything-shaped model trained from scratch.

Three parts, as in SAM (Kirillov et al., 2023):

- an image encoder run once per image: a small CNN down to stride 8 (16 x 16 tokens for 128 px) plus
  stride-4 and stride-2 feature maps that the decoder's upsampling adds back (skips, as in HQ-SAM: they keep the
  mask edges of 12-px objects sharp), also computed once per image;
- a prompt encoder: points as random-Fourier positional encodings plus a learned embedding of their label
  (0 background, 1 foreground, 2 / 3 the top-left / bottom-right corner of a box, -1 padding), and for a click
  (not a box corner) the image embedding under it through a linear layer (``pointfeat=0``: SAM's encoding); the
  previous low-resolution mask logits as a dense prompt (a learned "no mask" embedding otherwise);
- a mask decoder: an IoU token and four mask tokens attend with the prompt tokens to the image tokens through
  two-way attention layers; each mask token becomes, through a small MLP, the weights of a dot product with the
  upsampled (stride 4) image features; with ``stride=2`` a second set of weights per token (one linear map
  shared by the tokens) adds a stride-2 correction to the bilinearly upsampled stride-4 masks (zero at
  initialisation). Token 0 is the single-mask output, tokens 1-3 the three "valid masks" of an ambiguous
  prompt; the IoU head predicts the IoU of each. With ``focus=W`` the four masks are upsampled to the input's
  full resolution and a small network corrects them inside a W x W window around the latest click (FocalClick's
  focus view), from the image, the masks and the clicks.

Point coordinates are pixel indices ``(x, y)`` of the (padded, square) model input; 0.5 is added inside, as
SAM does. Everything traces to ONNX (opset 17) with the prompts as inputs.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

NUM_MASKS = 4  # token 0: single output; 1-3: multimask outputs
MAP_CHANNELS = 4  # prompt maps (``maps=1``): previous mask, foreground clicks, background clicks, box
CLICK_SIGMA = 2.0  # px of the model input: the width of a click's Gaussian in the prompt maps


class ConvBN(nn.Sequential):
    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.GELU())


class ImageEncoder(nn.Module):
    """CNN to stride 8; returns the stride-8 embedding and the skip maps for the decoder (stride 4, and stride 2
    when the masks come out at stride 2)."""

    def __init__(self, dim: int, width: int, skip: int, skip2: int = 0) -> None:
        super().__init__()
        w = width
        self.s4 = nn.Sequential(ConvBN(3, w, 2), ConvBN(w, w), ConvBN(w, 2 * w, 2), ConvBN(2 * w, 2 * w))
        self.s8 = nn.Sequential(ConvBN(2 * w, 4 * w, 2), ConvBN(4 * w, 4 * w), ConvBN(4 * w, 4 * w))
        self.neck = nn.Conv2d(4 * w, dim, 1)
        self.skip = nn.Conv2d(2 * w, skip, 1)
        self.skip2 = nn.Conv2d(w, skip2, 1) if skip2 else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        f2 = self.s4[:2](x)  # stride 2
        f4 = self.s4[2:](f2)
        out = (self.neck(self.s8(f4)), self.skip(f4))
        return out if self.skip2 is None else (*out, self.skip2(f2))


class FourierPositions(nn.Module):
    """Random Fourier features of coordinates normalised to [0, 1] (SAM's PositionEmbeddingRandom)."""

    def __init__(self, dim: int, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.register_buffer("gaussian", torch.randn(2, dim // 2, generator=gen))

    def encode(self, xy: torch.Tensor) -> torch.Tensor:
        proj = (2 * xy - 1) @ self.gaussian * (2 * math.pi)
        return torch.cat([proj.sin(), proj.cos()], dim=-1)

    def grid(self, h: int, w: int) -> torch.Tensor:
        """``(h * w, dim)`` encodings of the token centres, row-major."""
        ys = (torch.arange(h, device=self.gaussian.device, dtype=torch.float32) + 0.5) / h
        xs = (torch.arange(w, device=self.gaussian.device, dtype=torch.float32) + 0.5) / w
        xy = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1).reshape(-1, 2)
        return self.encode(xy)


class Attention(nn.Module):
    """Multi-head attention with an optional internal down-projection (SAM's cross-attention uses half width)."""

    def __init__(self, dim: int, heads: int, downsample: int = 1) -> None:
        super().__init__()
        inner = dim // downsample
        self.heads = heads
        self.q, self.k, self.v = nn.Linear(dim, inner), nn.Linear(dim, inner), nn.Linear(dim, inner)
        self.out = nn.Linear(inner, dim)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        return x.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        q, k, v = self._split(self.q(q)), self._split(self.k(k)), self._split(self.v(v))
        attn = (q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])).softmax(-1)
        out = (attn @ v).transpose(1, 2)
        return self.out(out.reshape(out.shape[0], out.shape[1], -1))


class TwoWayBlock(nn.Module):
    """Tokens self-attend, attend to the image, go through an MLP; then the image attends to the tokens."""

    def __init__(self, dim: int, heads: int, mlp: int, skip_first_pe: bool) -> None:
        super().__init__()
        self.self_attn = Attention(dim, heads)
        self.to_image = Attention(dim, heads, 2)
        self.to_tokens = Attention(dim, heads, 2)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(4))
        self.skip_first_pe = skip_first_pe

    def forward(self, tokens: torch.Tensor, image: torch.Tensor, token_pe: torch.Tensor, image_pe: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.skip_first_pe:
            tokens = self.self_attn(tokens, tokens, tokens)
        else:
            q = tokens + token_pe
            tokens = tokens + self.self_attn(q, q, tokens)
        tokens = self.norms[0](tokens)
        tokens = self.norms[1](tokens + self.to_image(tokens + token_pe, image + image_pe, image))
        tokens = self.norms[2](tokens + self.mlp(tokens))
        image = self.norms[3](image + self.to_tokens(image + image_pe, tokens + token_pe, tokens))
        return tokens, image


class MLP(nn.Sequential):
    def __init__(self, dims: list[int]) -> None:
        layers: list[nn.Module] = []
        for i in range(len(dims) - 1):
            layers.append(nn.Linear(dims[i], dims[i + 1]))
            if i < len(dims) - 2:
                layers.append(nn.ReLU())
        super().__init__(*layers)


def features_at(emb: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """``(P, C, h, w)`` feature maps sampled (bilinearly) at ``(P, N, 2)`` points ``(x, y)`` normalised to [0, 1]
    over the map's extent -> ``(P, N, C)``; a point at a cell's centre gets that cell's features exactly."""
    grid = (2 * xy - 1).unsqueeze(1)  # (P, 1, N, 2)
    return F.grid_sample(emb, grid, mode="bilinear", align_corners=False).squeeze(2).transpose(1, 2)


def click_gaussians(points: torch.Tensor, labels: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussians (sigma ``CLICK_SIGMA`` px) around the foreground and around the background clicks of ``(P, N, 2)``
    points, the largest of each kind, at the pixel positions ``xs (P or 1, W)`` and ``ys (P or 1, H)`` of the model
    input -> two ``(P, 1, H, W)`` maps."""
    p = points.shape[0]
    dx = xs.reshape(xs.shape[0], 1, 1, -1) - points[..., 0].reshape(p, -1, 1, 1)  # (P, N, 1, W)
    dy = ys.reshape(ys.shape[0], 1, -1, 1) - points[..., 1].reshape(p, -1, 1, 1)  # (P, N, H, 1)
    gauss = torch.exp(-(dx * dx + dy * dy) / (2 * CLICK_SIGMA**2))  # (P, N, H, W)
    lab = labels.reshape(p, -1, 1, 1)
    fg = (gauss * (lab == 1).to(gauss.dtype)).amax(1, keepdim=True)
    bg = (gauss * (lab == 0).to(gauss.dtype)).amax(1, keepdim=True)
    return fg, bg


class TinySam(nn.Module):
    """``embed(images)`` once per image, then ``decode`` any number of prompts against one embedding.

    ``forward(image, points, labels, mask_input, has_mask)`` runs both for ONE image and P prompts (the
    exported graph): ``image (1, 3, S, S)``, ``points (P, N, 2)``, ``labels (P, N)``, ``mask_input
    (P, 1, L, L)`` logits, ``has_mask (P,)`` 0/1 -> ``(masks (P, 4, L, L) logits, iou (P, 4))`` with
    ``L = low_res = S / stride`` (``S`` with a focus window).
    """

    def __init__(self, img_size: int = 128, dim: int = 96, width: int = 16, depth: int = 2, heads: int = 4,
                 mlp: int = 256, pointfeat: int = 1, stride: int = 4, maps: int = 0, focus: int = 0) -> None:
        super().__init__()
        if img_size % 8:
            raise ValueError(f"img_size must be a multiple of 8, got {img_size}")
        self.img_size, self.dim = img_size, dim
        self.grid = img_size // 8
        if stride not in (2, 4):
            raise ValueError(f"stride (of the mask output) must be 2 or 4, got {stride}")
        if focus and focus < 8:
            raise ValueError(f"focus (the refinement window, px) must be 0 (none) or at least 8, got {focus}")
        self.focus = min(int(focus), img_size)  # a window as large as the image at most
        # with a focus window the masks come back at the input's full resolution
        self.low_res = img_size if focus else img_size // stride
        c4 = dim // 4
        c2 = dim // 8
        self.image_encoder = ImageEncoder(dim, width, c4, c2 if stride == 2 else 0)
        self.pe = FourierPositions(dim)
        # the image feature under each click, added to its token (0: SAM's prompt encoder, position + label only)
        self.point_feature = nn.Linear(dim, dim) if pointfeat else None
        self.point_embed = nn.Embedding(5, dim)  # labels -1 (padding), 0, 1, 2, 3 -> rows 0..4
        self.no_mask = nn.Parameter(torch.zeros(1, dim, 1, 1))
        self.mask_down = nn.Sequential(
            nn.Conv2d(1, 16, 8 * self.low_res // img_size, 8 * self.low_res // img_size), nn.GroupNorm(1, 16),
            nn.GELU(),  # output stride -> 8
            nn.Conv2d(16, dim, 1),
        )
        self.iou_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.mask_tokens = nn.Parameter(torch.randn(1, NUM_MASKS, dim) * 0.02)
        self.blocks = nn.ModuleList(TwoWayBlock(dim, heads, mlp, i == 0) for i in range(depth))
        self.final_attn = Attention(dim, heads, 2)
        self.final_norm = nn.LayerNorm(dim)
        self.up4 = nn.ConvTranspose2d(dim, c4, 2, 2)
        self.norm4 = nn.GroupNorm(1, c4)
        self.refine = nn.Conv2d(c4, c4, 3, 1, 1)
        self.hyper = nn.ModuleList(MLP([dim, dim, c4]) for _ in range(NUM_MASKS))
        if stride == 2:  # a stride-2 residual on the upsampled stride-4 masks, zero at the start
            self.up2 = nn.ConvTranspose2d(c4, c2, 2, 2)
            self.norm2 = nn.GroupNorm(1, c2)
            # one linear map for the four tokens: the multimask tokens, trained only when they are the best of
            # three, learn the sharpening from every prompt's single output as well
            self.hyper2 = nn.Linear(dim, c2)
            nn.init.zeros_(self.hyper2.weight)
            nn.init.zeros_(self.hyper2.bias)
        else:
            self.up2 = self.norm2 = self.hyper2 = None
        self.iou_head = MLP([dim, 256, 256, NUM_MASKS])
        # the prompts again as maps at the mask resolutions (previous mask, clicks, box), added to the upsampled
        # features before their last convolution / dot product (zero at initialisation)
        self.maps4 = nn.Conv2d(MAP_CHANNELS, c4, 1) if maps else None
        self.maps2 = nn.Conv2d(MAP_CHANNELS, c2, 1) if maps and stride == 2 else None
        for layer in (self.maps4, self.maps2):
            if layer is not None:
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)
        # the focus window (``focus=W``): a W x W crop of the input around the latest click (a box's centre when
        # there is none), where a small full-resolution network corrects the four upsampled masks from the image,
        # the masks' probabilities and the clicks (zero at initialisation), as FocalClick refines around a click
        if focus:
            c = 3 + NUM_MASKS + 2
            self.focus_net = nn.Sequential(nn.Conv2d(c, 16, 3, 1, 1), nn.GELU(), nn.Conv2d(16, 16, 3, 1, 1), nn.GELU(),
                                           nn.Conv2d(16, NUM_MASKS, 3, 1, 1))
            nn.init.zeros_(self.focus_net[-1].weight)
            nn.init.zeros_(self.focus_net[-1].bias)
        else:
            self.focus_net = None

    # ------------------------------------------------------------------ parts
    def embed(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Image features, computed once per image: (stride-8 embedding, stride-4 skip map[, stride-2 skip map]
        [, the input itself, for the focus window])."""
        out = self.image_encoder(images)
        return (*out, images) if self.focus_net is not None else out

    @staticmethod
    def select(embedding: tuple[torch.Tensor, ...], index: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The embedding of image ``index[p]`` for each prompt ``p``."""
        return tuple(e[index] for e in embedding)

    def prompt_tokens(self, points: torch.Tensor, labels: torch.Tensor, emb: torch.Tensor | None = None
                      ) -> torch.Tensor:
        xy = (points + 0.5) / self.img_size
        pe = self.pe.encode(xy)
        pad = (labels < 0).unsqueeze(-1)
        pe = torch.where(pad, torch.zeros_like(pe), pe)
        tokens = pe + self.point_embed((labels.clamp(-1, 3) + 1).long())
        if self.point_feature is not None and emb is not None:  # clicks only: not box corners, not padding
            click = ((labels == 0) | (labels == 1)).unsqueeze(-1).to(tokens.dtype)
            tokens = tokens + click * self.point_feature(features_at(emb, xy))
        return tokens

    def prompt_maps(self, points: torch.Tensor, labels: torch.Tensor, mask_input: torch.Tensor | None,
                    has_mask: torch.Tensor | None, size: int) -> torch.Tensor:
        """``(P, MAP_CHANNELS, size, size)`` maps over the model input: the previous mask's probability (0 without
        one), Gaussians (sigma ``CLICK_SIGMA`` px) around the foreground and around the background clicks, and the
        inside of the box (soft edges of 1 px; 0 without a box)."""
        p = points.shape[0]
        c = (torch.arange(size, device=points.device, dtype=torch.float32) + 0.5) * (self.img_size / size) - 0.5
        fg, bg = click_gaussians(points, labels, c.unsqueeze(0), c.unsqueeze(0))
        lab = labels.reshape(p, -1, 1, 1)
        # the box: its corners (labels 2 and 3) are pixel edges, ``c`` pixel indices (a pixel's centre is its
        # index + 0.5 in edges)
        tl, br = (lab == 2).to(fg.dtype), (lab == 3).to(fg.dtype)
        edges = points.reshape(p, -1, 1, 2) - 0.5
        x1, y1 = (edges * tl).sum(1).unbind(-1)  # (P, 1) each
        x2, y2 = (edges * br).sum(1).unbind(-1)
        inside_x = torch.sigmoid(c - x1) * torch.sigmoid(x2 - c)  # (P, size)
        inside_y = torch.sigmoid(c - y1) * torch.sigmoid(y2 - c)
        has_box = tl.sum(1).clamp(max=1)  # (P, 1, 1)
        box = (has_box.unsqueeze(1) * inside_y.reshape(p, 1, size, 1) * inside_x.reshape(p, 1, 1, size))
        if mask_input is None:
            prev = torch.zeros_like(fg)
        else:
            prev = F.interpolate(mask_input, (size, size), mode="bilinear", align_corners=False).sigmoid()
            prev = prev * has_mask.reshape(p, 1, 1, 1).to(prev.dtype)
        return torch.cat([prev, fg, bg, box], 1)

    def decode(self, embedding: tuple[torch.Tensor, ...], points: torch.Tensor, labels: torch.Tensor,
               mask_input: torch.Tensor | None = None, has_mask: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """``embedding``: per-prompt image features (see ``select``); returns ``(P, 4, L, L)`` mask logits
        and ``(P, 4)`` predicted IoUs."""
        emb, skip = embedding[0], embedding[1]
        p = points.shape[0]
        sparse = self.prompt_tokens(points, labels, emb)
        if mask_input is None:
            dense = self.no_mask.expand(p, -1, self.grid, self.grid)
        else:
            flag = has_mask.reshape(p, 1, 1, 1).to(emb.dtype)
            dense = flag * self.mask_down(mask_input) + (1 - flag) * self.no_mask
        image = (emb + dense).flatten(2).transpose(1, 2)  # (P, HW, C)
        image_pe = self.pe.grid(self.grid, self.grid).unsqueeze(0)
        out_tokens = torch.cat([self.iou_token, self.mask_tokens], 1).expand(p, -1, -1)
        tokens = torch.cat([out_tokens, sparse], 1)
        token_pe = tokens
        for block in self.blocks:
            tokens, image = block(tokens, image, token_pe, image_pe)
        tokens = self.final_norm(tokens + self.final_attn(tokens + token_pe, image + image_pe, image))
        iou_out, mask_out = tokens[:, 0], tokens[:, 1 : 1 + NUM_MASKS]
        image = image.transpose(1, 2).reshape(p, self.dim, self.grid, self.grid)
        x = F.gelu(self.norm4(self.up4(image) + skip))
        if self.maps4 is not None:
            x = x + self.maps4(self.prompt_maps(points, labels, mask_input, has_mask, x.shape[-1]))
        x = F.gelu(x + self.refine(x))  # (P, C/4, S/4, S/4)
        weights = torch.stack([h(mask_out[:, i]) for i, h in enumerate(self.hyper)], 1)  # (P, 4, C/4)
        masks = (weights @ x.flatten(2)).reshape(p, NUM_MASKS, x.shape[-2], x.shape[-1])
        if self.up2 is not None:
            f2 = F.gelu(self.norm2(self.up2(x) + embedding[2]))  # (P, C/8, S/2, S/2)
            if self.maps2 is not None:
                f2 = f2 + self.maps2(self.prompt_maps(points, labels, mask_input, has_mask, f2.shape[-1]))
            w2 = self.hyper2(mask_out)  # (P, 4, C/8)
            size = (f2.shape[-2], f2.shape[-1])
            masks = F.interpolate(masks, size, mode="bilinear", align_corners=False) + (
                w2 @ f2.flatten(2)).reshape(p, NUM_MASKS, *size)
        if self.focus_net is not None:
            masks = self.focused(F.interpolate(masks, (self.img_size, self.img_size), mode="bilinear",
                                               align_corners=False), embedding[-1], points, labels)
        return masks, self.iou_head(iou_out)

    def focused(self, masks: torch.Tensor, image: torch.Tensor, points: torch.Tensor, labels: torch.Tensor
                ) -> torch.Tensor:
        """Full-resolution masks ``(P, 4, S, S)`` plus the focus network's correction inside each prompt's window."""
        p, s, w = masks.shape[0], self.img_size, self.focus
        click = (labels == 0) | (labels == 1)
        order = torch.arange(labels.shape[1], device=labels.device, dtype=points.dtype)
        last = torch.where(click, order, torch.full_like(order, -1.0).expand_as(click)).argmax(1)
        corner = ((labels == 2) | (labels == 3)).to(points.dtype).unsqueeze(-1)
        # the box's centre; the image's without a box (s / 2 where there are no corners to average)
        box_centre = ((points * corner).sum(1) + (corner.sum(1) == 0) * (s / 2)) / corner.sum(1).clamp(min=1)
        centre = torch.where(click.any(1, keepdim=True), points[torch.arange(p, device=points.device), last],
                             box_centre)
        origin = (centre.floor().long() - w // 2).clamp(0, s - w)  # (P, 2) x0, y0
        span = torch.arange(w, device=points.device)
        xs, ys = origin[:, :1] + span, origin[:, 1:] + span  # (P, W) each
        index = (ys.unsqueeze(2) * s + xs.unsqueeze(1)).reshape(p, 1, w * w)

        def crop(t: torch.Tensor) -> torch.Tensor:
            return t.flatten(2).gather(2, index.expand(-1, t.shape[1], -1)).reshape(p, t.shape[1], w, w)

        fg, bg = click_gaussians(points, labels, xs.to(points.dtype), ys.to(points.dtype))
        # the masks enter as probabilities: as raw logits (tens in size), corrections and boxes came out worse
        # (focus=48: 3 clicks 0.870 vs 0.879, box 0.836 vs 0.866; 1 click 0.832 vs 0.830; docs/promptseg.md)
        fix = self.focus_net(torch.cat([crop(image), crop(masks).sigmoid(), fg, bg], 1))  # (P, 4, W, W)
        flat = masks.flatten(2).scatter_add(2, index.expand(-1, NUM_MASKS, -1), fix.flatten(2))
        return flat.reshape(p, NUM_MASKS, s, s)

    def forward(self, image: torch.Tensor, points: torch.Tensor, labels: torch.Tensor,
                mask_input: torch.Tensor, has_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        embedding = self.embed(image)
        index = torch.zeros(points.shape[0], dtype=torch.long, device=points.device)
        return self.decode(self.select(embedding, index), points, labels, mask_input, has_mask)

    # ONNX export (cvkit.export_inputs): names, the prompt and point counts left dynamic, a second input set
    input_names = ("image", "points", "labels", "mask_input", "has_mask")
    output_names = ("masks", "iou")
    dynamic_axes = {"points": {0: "prompts", 1: "points"}, "labels": {0: "prompts", 1: "points"},
                    "mask_input": {0: "prompts"}, "has_mask": {0: "prompts"}, "masks": {0: "prompts"},
                    "iou": {0: "prompts"}}

    def verification_inputs(self) -> tuple[torch.Tensor, ...]:
        x = self.example_inputs(prompts=3, points=4)
        gen = torch.Generator().manual_seed(1)
        labels = torch.tensor([[1, 0, -1, -1], [2, 3, 1, -1], [1, 1, 0, 0]], dtype=torch.float32)
        return x[0], x[1], labels, torch.randn(x[3].shape, generator=gen), torch.tensor([0.0, 1.0, 1.0])

    def example_inputs(self, prompts: int = 1, points: int = 2) -> tuple[torch.Tensor, ...]:
        s = self.img_size
        gen = torch.Generator().manual_seed(0)
        return (torch.randn(1, 3, s, s, generator=gen), torch.rand(prompts, points, 2, generator=gen) * s,
                torch.ones(prompts, points), torch.zeros(prompts, 1, self.low_res, self.low_res), torch.zeros(prompts))


def build_tiny(img_size: int, args: dict[str, Any]) -> TinySam:
    known = {"dim", "width", "depth", "heads", "mlp", "pointfeat", "stride", "maps", "focus"}
    unknown = set(args) - known - {"augment"}
    if unknown:
        raise ValueError(f"unknown model argument(s) {sorted(unknown)} (known: {sorted(known)})")
    return TinySam(img_size, **{k: int(v) for k, v in args.items() if k in known})
