"""Official Segment Anything checkpoints (``sam_vit_b_01ec64.pth``, ``sam_vit_l_0b3195.pth``,
``sam_vit_h_4b8939.pth``) through Meta's ``segment-anything`` package, an optional dependency imported only here.

The files are plain state dicts (``image_encoder.*``, ``prompt_encoder.*``, ``mask_decoder.*``). The variant is
read from the state dict (the encoder's width and depth), the architecture is built with
``sam_model_registry[kind](checkpoint=None)`` (random weights, nothing downloaded) and the state dict loaded
into it strictly. The file itself is read with ``torch.load(weights_only=True)``: it can run no code.
"""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cvkit.errors import CvkitError

SAM_IMG_SIZE = 1024
SAM_MEAN = (0.485, 0.456, 0.406)  # SAM's (123.675, 116.28, 103.53) / 255
SAM_STD = (0.229, 0.224, 0.225)  # SAM's (58.395, 57.12, 57.375) / 255
VARIANTS = {  # encoder width, depth -> registry name
    (768, 12): "vit_b",
    (1024, 24): "vit_l",
    (1280, 32): "vit_h",
}
MODEL_NAMES = {f"sam_{v}": v for v in VARIANTS.values()}
INSTALL = "pip install segment-anything  (or: pip install 'cvkit-promptseg[sam]')"


def require_package() -> Any:
    try:
        import segment_anything
    except ImportError:
        raise CvkitError(f"official Segment Anything checkpoints need Meta's segment-anything package: {INSTALL}"
                         ) from None
    return segment_anything


def detect_variant(state: dict[str, Any]) -> str | None:
    """``vit_b`` / ``vit_l`` / ``vit_h`` from a SAM state dict's keys and shapes; None when it is not one."""
    if not isinstance(state, dict) or not all(
        any(isinstance(k, str) and k.startswith(p) for k in state)
        for p in ("image_encoder.", "prompt_encoder.", "mask_decoder.")
    ):
        return None
    pos = state.get("image_encoder.pos_embed")
    if not isinstance(pos, torch.Tensor) or pos.ndim != 4:
        return None
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"image_encoder\.blocks\.(\d+)\.", k))}
    depth = max(blocks) + 1 if blocks else 0
    return VARIANTS.get((int(pos.shape[-1]), depth))


def read_state_dict(path: Path) -> dict[str, Any] | None:
    """The state dict of an official SAM file, or None when ``path`` is not one (any other file)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, KeyError, TypeError):
        return None
    if isinstance(raw, dict) and "image_encoder.pos_embed" not in raw:  # a re-saved wrapper {"model": sd}
        inner = raw.get("model") if isinstance(raw.get("model"), dict) else raw.get("state_dict")
        raw = inner if isinstance(inner, dict) else raw
    return raw if detect_variant(raw) else None


class OfficialSam(nn.Module):
    """Meta's SAM under the interface of :class:`~cvkit_promptseg.models.tiny.TinySam`: ``embed`` once per image,
    ``decode`` any prompts; the state-dict keys are the official file's own (``image_encoder.*`` ...).

    ``decode`` returns all four mask outputs (0: single mask, 1-3: the multimask outputs) at 256 x 256 and their
    predicted IoUs. Box corners are points labelled 2 / 3; a prompt without a box gets SAM's padding point."""

    official = True
    not_exportable = ("official Segment Anything checkpoints are not exported by cvkit (Meta's "
                      "scripts/export_onnx_model.py exports their decoder); sam-tiny exports with its prompts as "
                      "inputs")

    def __init__(self, kind: str) -> None:
        super().__init__()
        sam = require_package().sam_model_registry[kind](checkpoint=None)
        self.kind = kind
        self.image_encoder, self.prompt_encoder, self.mask_decoder = sam.image_encoder, sam.prompt_encoder, \
            sam.mask_decoder
        self.img_size = int(sam.image_encoder.img_size)
        self.low_res = int(self.prompt_encoder.mask_input_size[0])

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return self.image_encoder(images)

    @staticmethod
    def select(embedding: torch.Tensor, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return embedding, index

    def _sparse(self, points: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """SAM's sparse embedding: positional encoding of the pixel centres plus the label's embedding; one padding
        point is appended unless every prompt has a box (as ``PromptEncoder`` does for a single prompt)."""
        pe = self.prompt_encoder
        if not bool((labels >= 2).any(1).all()):
            points = torch.cat([points, torch.zeros_like(points[:, :1])], 1)
            labels = torch.cat([labels, torch.full_like(labels[:, :1], -1)], 1)
        emb = pe.pe_layer.forward_with_coords(points + 0.5, pe.input_image_size)
        lab = labels.unsqueeze(-1)
        emb = torch.where(lab == -1, pe.not_a_point_embed.weight.expand_as(emb), emb)
        for k in range(4):
            emb = emb + (lab == k).to(emb.dtype) * pe.point_embeddings[k].weight
        return emb

    def decode(self, selected: tuple[torch.Tensor, torch.Tensor], points: torch.Tensor, labels: torch.Tensor,
               mask_input: torch.Tensor | None = None, has_mask: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        embedding, index = selected
        sparse = self._sparse(points, labels)
        pe = self.prompt_encoder
        h, w = pe.image_embedding_size
        dense = pe.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(len(points), -1, h, w)
        if mask_input is not None:
            flag = has_mask.reshape(-1, 1, 1, 1).to(dense.dtype)
            dense = flag * pe.mask_downscaling(mask_input) + (1 - flag) * dense
        image_pe = pe.get_dense_pe()
        masks, ious = [], []
        order = []
        for i in torch.unique(index).tolist():
            sel = (index == i).nonzero().flatten()
            m, q = self.mask_decoder.predict_masks(embedding[i : i + 1], image_pe, sparse[sel], dense[sel])
            masks.append(m)
            ious.append(q)
            order.append(sel)
        perm = torch.argsort(torch.cat(order))
        return torch.cat(masks)[perm], torch.cat(ious)[perm]

    def forward(self, image: torch.Tensor, points: torch.Tensor, labels: torch.Tensor,
                mask_input: torch.Tensor, has_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.zeros(points.shape[0], dtype=torch.long, device=points.device)
        return self.decode((self.embed(image), index), points, labels, mask_input, has_mask)


def build_official(name: str) -> OfficialSam:
    return OfficialSam(MODEL_NAMES[name])


def upscale(logits: torch.Tensor, img_size: int) -> torch.Tensor:
    return F.interpolate(logits, (img_size, img_size), mode="bilinear", align_corners=False)
