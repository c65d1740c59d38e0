"""Decoding prompts against image embeddings: the training rounds (SAM's interactive protocol) and the
evaluation's click simulation.

Coordinates: prompts are given in original image pixels and scaled into the model input as SAM's
``ResizeLongestSide.apply_coords`` does (``x * new_w / old_w``); mask logits come back at ``model.low_res``, are
upsampled to the input, cropped to the resized image and upsampled to the original size (SAM's
``postprocess_masks``); a pixel belongs to the mask where the logit is above 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cvkit.vision.masks import encode_rle
from cvkit_promptseg import prompts as P
from cvkit_promptseg.prompts import EVAL_CLICKS

MAX_TRAIN_OBJECTS = 6  # objects per image per training step (sampled when an image has more)
BCE_WEIGHT = 1.0  # mask loss: BCE_WEIGHT * binary cross-entropy + dice (see mask_losses)
POINT_SHARE = 0.5  # training's first prompt: a click with this probability, else a jittered box
CENTRE_SHARE = 0.5  # a first click at the evaluation's spot (deepest interior point) with this probability
SINGLE_ON_CLICK = 1.0  # weight of the single output's loss on a lone first click (beside the best multimask one)
CORRECTION_AT_SPOT = 0.5  # a training correction click at the evaluation's spot with this probability
CORRECTION_WEIGHT = 2.0  # loss weight of each correction round (the first prompt's round weighs 1)
IOU_WEIGHT = 5.0  # weight of the predicted IoU's MSE (it picks the answer to a lone click among the three)


def to_original(logits: torch.Tensor, img_size: int, input_size: tuple[int, int], orig: tuple[int, int]
                ) -> torch.Tensor:
    """``(N, M, L, L)`` low-resolution logits -> ``(N, M, h, w)`` logits of the original image."""
    x = F.interpolate(logits.float(), (img_size, img_size), mode="bilinear", align_corners=False)
    x = x[..., : input_size[0], : input_size[1]]
    return F.interpolate(x, tuple(orig), mode="bilinear", align_corners=False)


def scale_of(meta: dict[str, Any]) -> tuple[float, float]:
    (h, w), (nh, nw) = meta["orig_size"], meta["input_size"]
    return nw / w, nh / h


def to_input(points: list[tuple[float, float, int]], scale: tuple[float, float]) -> list[tuple[float, float, int]]:
    return [(x * scale[0], y * scale[1], lab) for x, y, lab in points]


def run_decoder(model: Any, selected: Any, prompts: list[list[tuple[float, float, int]]], device: torch.device,
                mask_input: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    coords, labels = P.pack(prompts)
    has = None if mask_input is None else torch.ones(len(prompts), device=device)
    return model.decode(selected, torch.from_numpy(coords).to(device), torch.from_numpy(labels).to(device),
                        mask_input, has)


def best_multimask(iou: torch.Tensor) -> torch.Tensor:
    """The multimask output (1-3) with the highest predicted IoU, per prompt."""
    return iou[:, 1:].argmax(1) + 1


# ------------------------------------------------------------------------------------------------- evaluation
def simulate(model: Any, images: torch.Tensor, targets: list[dict[str, Any]], metas: list[dict[str, Any]],
             clicks: int = EVAL_CLICKS) -> list[dict[str, Any]]:
    """Per image ``{"objects": [{"clicks": [[x, y, label], ...], "masks": [RLE after click 1..k], "scores",
    "box", "box_mask", "box_score"}]}``: clicks as in :mod:`cvkit_promptseg.prompts`, the first answered with the
    most confident of the three multimask outputs, the next ones with the single output given all clicks so far
    and the previous mask's logits; the box (the mask's tight box) with the single output."""
    device = images.device
    embedding = model.embed(images)
    objs: list[tuple[int, int]] = []  # (image, object) of the objects with pixels
    for b, t in enumerate(targets):
        objs += [(b, k) for k, m in enumerate(t["orig_masks"]) if m.any()]
    out: list[dict[str, Any]] = [{"objects": [None] * len(t["orig_masks"])} for t in targets]
    for b, t in enumerate(targets):  # an object without pixels gets no prompt (evaluation does not count it)
        for k, m in enumerate(t["orig_masks"]):
            if not m.any():
                empty = encode_rle(m)
                out[b]["objects"][k] = {"clicks": [], "masks": [empty] * clicks, "scores": [], "box": None,
                                        "box_mask": empty, "box_score": None}
    if not objs:
        return out
    index = torch.tensor([b for b, _ in objs], device=device)
    selected = model.select(embedding, index)
    gts = [targets[b]["orig_masks"][k] for b, k in objs]
    ignores = [targets[b]["ignore"] for b, _ in objs]
    scales = [scale_of(metas[b]) for b, _ in objs]
    records = [{"clicks": [], "masks": [], "scores": []} for _ in objs]
    points: list[list[tuple[float, float, int]]] = []
    for gt, rec in zip(gts, records, strict=True):
        c = P.first_click(gt)
        points.append([(c.x, c.y, c.label)])
        rec["clicks"].append([c.x, c.y, c.label])
    logits, iou = run_decoder(model, selected, [to_input(p, s) for p, s in zip(points, scales, strict=True)], device)
    choice = best_multimask(iou)
    rows = torch.arange(len(objs), device=device)
    low, score = logits[rows, choice].unsqueeze(1), iou[rows, choice]
    preds = _finish_round(low, score, objs, metas, model.img_size, records)
    for _ in range(clicks - 1):
        active = []
        for i, (gt, ign) in enumerate(zip(gts, ignores, strict=True)):
            c = P.next_click(preds[i], gt, ign)
            if c is not None:
                points[i].append((c.x, c.y, c.label))
                records[i]["clicks"].append([c.x, c.y, c.label])
                active.append(i)
        if active:
            sel = torch.tensor(active, device=device)
            lg, q = run_decoder(model, model.select(embedding, index[sel]),
                                [to_input(points[i], scales[i]) for i in active], device, low[sel])
            low, score = low.clone(), score.clone()
            low[sel], score[sel] = lg[:, :1], q[:, 0]
        preds = _finish_round(low, score, objs, metas, model.img_size, records, preds, set(active))
    boxes = [P.mask_box(gt) for gt in gts]
    lg, q = run_decoder(model, selected, [to_input(P.box_points(bx), s) for bx, s in zip(boxes, scales, strict=True)],
                        device)
    for i, ((b, k), rec) in enumerate(zip(objs, records, strict=True)):
        m = to_original(lg[i : i + 1, :1], model.img_size, metas[b]["input_size"], metas[b]["orig_size"])[0, 0]
        rec.update(box=[round(v, 3) for v in boxes[i]], box_mask=encode_rle((m > 0).cpu().numpy()),
                   box_score=round(float(q[i, 0]), 6))
        out[b]["objects"][k] = rec
    return out


def _finish_round(low: torch.Tensor, score: torch.Tensor, objs: list[tuple[int, int]], metas: list[dict[str, Any]],
                  img_size: int, records: list[dict[str, Any]], previous: list[np.ndarray] | None = None,
                  changed: set[int] | None = None) -> list[np.ndarray]:
    preds = []
    for i, (b, _) in enumerate(objs):
        if previous is not None and i not in (changed or set()):
            mask = previous[i]  # no error left: the mask stays
        else:
            m = to_original(low[i : i + 1], img_size, metas[b]["input_size"], metas[b]["orig_size"])[0, 0]
            mask = (m > 0).cpu().numpy()
        preds.append(mask)
        records[i]["masks"].append(encode_rle(mask))
        records[i]["scores"].append(round(float(score[i]), 6))
    return preds


# --------------------------------------------------------------------------------------------------- training
def mask_losses(logits: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per prompt and output: ``BCE_WEIGHT * BCE + dice`` and the actual IoU of the thresholded mask, on ``gt``'s
    grid (``logits (P, M, L, L)``, ``gt (P, G, G)`` in [0, 1]).

    Not SAM's ``20 * focal + dice``: trained from scratch on objects covering a few percent of the image, that
    loss ranks an empty mask above a mask with half its pixels right (focal's alpha = 0.25 weights the missed
    object pixels three times less than the extra ones, and 20x drowns dice), so the single-output token -- the
    box prompt's and every correction click's answer -- collapsed to empty masks in the first hundred steps."""
    x = F.interpolate(logits, gt.shape[-2:], mode="bilinear", align_corners=False)
    g = gt.unsqueeze(1).expand_as(x)
    bce = F.binary_cross_entropy_with_logits(x, g, reduction="none").mean((-1, -2))
    p = x.sigmoid()
    dice = 1 - (2 * (p * g).sum((-1, -2)) + 1) / (p.sum((-1, -2)) + g.sum((-1, -2)) + 1)
    with torch.no_grad():
        hard, gb = (x > 0).float(), (g > 0.5).float()
        inter = (hard * gb).sum((-1, -2))
        iou = inter / ((hard + gb).clamp(max=1).sum((-1, -2))).clamp(min=1)
    return BCE_WEIGHT * bce + dice, iou


def train_rounds(model: Any, images: torch.Tensor, targets: list[dict[str, Any]], metas: list[dict[str, Any]],
                 rng: np.random.Generator, rounds: int) -> dict[str, torch.Tensor]:
    """One SAM-style training step's losses: a random first prompt (a point in the mask, or a jittered box), then
    ``rounds - 1`` correction clicks drawn from the current error, each round given the previous mask's logits.
    A single point is ambiguous: only the best of the three multimask outputs is trained (SAM's rule)."""
    device = images.device
    size = images.shape[-1]
    embedding = model.embed(images)
    objs, masks = [], []
    for b, t in enumerate(targets):
        m = t["masks"]
        nonempty = np.flatnonzero(m.flatten(1).any(1).cpu().numpy()) if len(m) else np.zeros(0, int)
        keep = rng.permutation(nonempty)[:MAX_TRAIN_OBJECTS]
        objs += [b] * len(keep)
        masks += [m[int(k)] for k in keep]
    if not objs:
        zero = sum(p.sum() for p in model.parameters()) * 0.0
        return {"loss": zero, "loss_mask": zero.detach(), "loss_iou": zero.detach()}
    index = torch.tensor(objs, device=device)
    selected = model.select(embedding, index)
    gt_full = torch.stack(masks).to(device).float()  # (P, S, S)
    # loss grid: half the input size, or the full size for full-resolution masks (the focus window)
    gt = gt_full if model.low_res >= size else F.avg_pool2d(gt_full.unsqueeze(1), 2).squeeze(1)
    gt_np = gt_full.bool().cpu().numpy()
    valid = [metas[b]["input_size"] for b in objs]
    points, is_box = [], []
    for m, (nh, nw) in zip(gt_np, valid, strict=True):
        if rng.random() >= POINT_SHARE:
            box = P.jitter_box(P.mask_box(m), (nh, nw), rng)
            points.append(P.box_points(box))
            is_box.append(True)
        else:
            c = P.first_click(m) if rng.random() < CENTRE_SHARE else None
            x, y = (c.x, c.y) if c is not None else P.random_point(m, rng)
            points.append([(x, y, P.FOREGROUND)])
            is_box.append(False)
    rows = torch.arange(len(objs), device=device)
    single = torch.tensor(is_box, device=device)
    total_mask = total_iou = 0.0
    low = None
    for r in range(rounds):
        logits, iou_pred = run_decoder(model, selected, points, device, low)
        loss, iou_true = mask_losses(logits, gt)
        multi_best = loss[:, 1:].argmin(1) + 1
        pick = torch.where(single | (r > 0), torch.zeros_like(multi_best), multi_best)
        weight = 1.0 if r == 0 else CORRECTION_WEIGHT
        total_mask = total_mask + weight * loss[rows, pick].mean()
        if r == 0 and SINGLE_ON_CLICK:
            total_mask = total_mask + SINGLE_ON_CLICK * (loss[:, 0] * (~single)).mean()
        total_iou = total_iou + IOU_WEIGHT * F.mse_loss(iou_pred, iou_true)
        low = logits[rows, pick].unsqueeze(1).detach()
        if r + 1 < rounds:
            up = F.interpolate(low, (size, size), mode="bilinear", align_corners=False)[:, 0] > 0
            up_np = up.cpu().numpy()
            for i, ((nh, nw), m) in enumerate(zip(valid, gt_np, strict=True)):
                pred = np.zeros_like(m)
                pred[:nh, :nw] = up_np[i, :nh, :nw]
                c = P.random_correction(pred, m, rng, CORRECTION_AT_SPOT)
                if c is not None:
                    points[i] = [*points[i], (c.x, c.y, c.label)]
    loss_mask, loss_iou = total_mask / rounds, total_iou / rounds
    return {"loss": loss_mask + loss_iou, "loss_mask": loss_mask.detach(), "loss_iou": loss_iou.detach()}
