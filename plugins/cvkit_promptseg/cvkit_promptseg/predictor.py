"""Prediction with prompts the user gives and "everything" mode.

Prompt options (``PredictOptions.extra``, from ``cvkit predict --task-arg KEY=VALUE``; a KEY repeated gives a
list): ``point`` (``"X,Y[,LABEL]"`` strings, original pixels, LABEL 1
foreground (default) or 0 background), ``box`` (``"X1,Y1,X2,Y2"``, pixel edges), ``points_file`` (JSON, see
:func:`read_points_file`), ``multimask`` (write the three masks of each prompt, not only the chosen one),
``everything`` (a grid of ``points_per_side`` x ``points_per_side`` point prompts; masks kept when their predicted
IoU reaches ``iou_thresh`` and their stability ``stability_thresh``, then non-maximum suppression at mask IoU
``nms_thresh``, as Segment Anything's automatic mask generator does).

The command-line points and the first box form ONE prompt (as ``SamPredictor.predict`` takes them); each further
box is a prompt of its own. The image embedding is computed once per image for all its prompts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cvkit.errors import BadInput, UsageError
from cvkit.vision.masks import encode_rle
from cvkit_promptseg import prompts as P
from cvkit_promptseg.interactive import best_multimask, run_decoder, scale_of, to_input, to_original

Prompt = dict[str, Any]  # {"points": [(x, y, label)], "box": (x1, y1, x2, y2) | None}
DECODE_CHUNK = 64  # prompts decoded at a time
EVERYTHING = {"points_per_side": 16, "iou_thresh": 0.88, "stability_thresh": 0.95, "nms_thresh": 0.7}


def _numbers(text: str, n: tuple[int, ...], what: str) -> list[float]:
    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        values = []
    if len(values) not in n:
        raise UsageError(f"--task-arg {what}={text}: expected {' or '.join(str(k) for k in n)} comma-separated numbers")
    return values


def parse_point(text: str) -> tuple[float, float, int]:
    v = _numbers(text, (2, 3), "point")
    label = int(v[2]) if len(v) == 3 else P.FOREGROUND
    if label not in (P.FOREGROUND, P.BACKGROUND) or (len(v) == 3 and v[2] != label):
        raise UsageError(f"--task-arg point={text}: LABEL must be 1 (foreground) or 0 (background)")
    return v[0], v[1], label


def parse_box(text: str) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = _numbers(text, (4,), "box")
    if x2 <= x1 or y2 <= y1:
        raise UsageError(f"--task-arg box={text}: expected X1,Y1,X2,Y2 with X2 > X1 and Y2 > Y1")
    return x1, y1, x2, y2


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def command_line_prompts(extra: dict[str, Any]) -> list[Prompt]:
    points = [parse_point(p) for p in _as_list(extra.get("point"))]
    boxes = [parse_box(b) for b in _as_list(extra.get("box"))]
    if not points and not boxes:
        return []
    first = {"points": points, "box": boxes[0] if boxes else None}
    return [first] + [{"points": [], "box": b} for b in boxes[1:]]


def _file_prompt(item: Any, path: Path, where: str) -> Prompt:
    if not isinstance(item, dict) or not ({"points", "box"} & set(item)):
        raise BadInput(path, "a prompt is an object with 'points' and/or 'box'", where=where)
    try:
        points = []
        for p in item.get("points") or []:
            if not isinstance(p, (list, tuple)) or len(p) not in (2, 3):
                raise ValueError("a point is [x, y] or [x, y, label]")
            points.append(parse_point(",".join(str(v) for v in p)))
        box = parse_box(",".join(str(v) for v in item["box"])) if item.get("box") is not None else None
    except (UsageError, ValueError, TypeError) as exc:
        raise BadInput(path, str(exc).replace("--task-arg ", ""), where=where) from None
    if not points and box is None:
        raise BadInput(path, "a prompt needs at least one point or a box", where=where)
    return {"points": points, "box": box}


def read_points_file(path: str | Path) -> tuple[list[Prompt], dict[str, list[Prompt]]]:
    """``--points-file``: a JSON list of prompts for every image, or an object mapping an image (its path as given
    or its file name) to its list of prompts. A prompt: ``{"points": [[x, y], [x, y, label], ...], "box":
    [x1, y1, x2, y2]}`` (either or both), in original pixels."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(path, "points file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(path, f"unreadable ({exc})") from None
    except json.JSONDecodeError as exc:
        raise BadInput(path, f"not JSON ({exc.msg})", where=f"line {exc.lineno}, column {exc.colno}") from None
    if isinstance(doc, list):
        return [_file_prompt(p, path, f"[{i}]") for i, p in enumerate(doc)], {}
    if isinstance(doc, dict):
        per_image = {}
        for name, items in doc.items():
            if not isinstance(items, list):
                raise BadInput(path, "expected a list of prompts", where=f"{name!r}")
            per_image[str(name)] = [_file_prompt(p, path, f"{name!r}[{i}]") for i, p in enumerate(items)]
        return [], per_image
    raise BadInput(path, "expected a list of prompts or an object of image -> prompts")


def prompts_for(source: str, extra: dict[str, Any], from_file: tuple[list[Prompt], dict[str, list[Prompt]]]
                ) -> list[Prompt]:
    shared, per_image = from_file
    mine = per_image.get(source) or per_image.get(Path(source).name) or []
    return command_line_prompts(extra) + shared + mine


def _point_list(prompt: Prompt) -> list[tuple[float, float, int]]:
    return list(prompt["points"]) + (P.box_points(prompt["box"]) if prompt["box"] is not None else [])


def _rle(mask: torch.Tensor) -> dict[str, Any]:
    m = mask.cpu().numpy()
    return {"rle": encode_rle(m), "area": int(m.sum())}


def predict_prompts(model: Any, images: torch.Tensor, metas: list[dict[str, Any]], per_image: list[list[Prompt]],
                    multimask: bool) -> list[dict[str, Any]]:
    """Per image ``{"image_size": [h, w], "prompts": [{"points", "box", "masks": [{"rle", "area", "score"}],
    "best"}]}``: one mask per prompt (the most confident of three for a lone point, else the single output), or
    the three multimask outputs with ``multimask``."""
    embedding = model.embed(images)
    out = []
    for b, (meta, prompts) in enumerate(zip(metas, per_image, strict=True)):
        h, w = meta["orig_size"]
        rec: list[dict[str, Any]] = []
        for start in range(0, len(prompts), DECODE_CHUNK):
            chunk = prompts[start : start + DECODE_CHUNK]
            index = torch.full((len(chunk),), b, dtype=torch.long, device=images.device)
            pts = [to_input(_point_list(p), scale_of(meta)) for p in chunk]
            logits, iou = run_decoder(model, model.select(embedding, index), pts, images.device)
            full = to_original(logits, model.img_size, meta["input_size"], (h, w)) > 0
            lone = best_multimask(iou)
            for i, p in enumerate(chunk):
                ambiguous = p["box"] is None and len(p["points"]) == 1
                picks = [1, 2, 3] if multimask else [int(lone[i]) if ambiguous else 0]
                masks = [{**_rle(full[i, t]), "score": round(float(iou[i, t]), 6)} for t in picks]
                best = int(np.argmax([m["score"] for m in masks]))
                rec.append({"points": [[x, y, lab] for x, y, lab in p["points"]],
                            "box": list(p["box"]) if p["box"] is not None else None, "masks": masks, "best": best})
        out.append({"image_size": [h, w], "prompts": rec})
    return out


def stability(logits: torch.Tensor, offset: float = 1.0) -> torch.Tensor:
    """SAM's stability score: IoU of the masks thresholded at +offset and -offset."""
    inter = (logits > offset).flatten(1).sum(1).float()
    union = (logits > -offset).flatten(1).sum(1).float()
    return inter / union.clamp(min=1)


def mask_nms(masks: torch.Tensor, scores: torch.Tensor, thresh: float) -> list[int]:
    """Greedy non-maximum suppression by mask IoU, best score first; indices kept."""
    order = torch.argsort(scores, descending=True, stable=True)
    flat = masks[order].flatten(1).float()
    inter = flat @ flat.T
    area = flat.sum(1)
    iou = inter / (area[:, None] + area[None, :] - inter).clamp(min=1)
    keep: list[int] = []
    for i in range(len(order)):
        if all(float(iou[i, j]) <= thresh for j in keep):
            keep.append(i)
    return [int(order[i]) for i in keep]


def predict_everything(model: Any, images: torch.Tensor, metas: list[dict[str, Any]], settings: dict[str, float]
                       ) -> list[dict[str, Any]]:
    """Per image ``{"image_size", "everything": [{"rle", "area", "score", "stability", "box", "point"}]}``."""
    n = int(settings["points_per_side"])
    embedding = model.embed(images)
    out = []
    for b, meta in enumerate(metas):
        h, w = meta["orig_size"]
        grid = [((i + 0.5) * w / n, (j + 0.5) * h / n) for j in range(n) for i in range(n)]
        cands, scores, stab, pts = [], [], [], []
        for start in range(0, len(grid), DECODE_CHUNK):
            chunk = grid[start : start + DECODE_CHUNK]
            index = torch.full((len(chunk),), b, dtype=torch.long, device=images.device)
            prompts = [to_input([(x, y, P.FOREGROUND)], scale_of(meta)) for x, y in chunk]
            logits, iou = run_decoder(model, model.select(embedding, index), prompts, images.device)
            logits, iou = logits[:, 1:].flatten(0, 1), iou[:, 1:].flatten()
            s = stability(logits)
            ok = (iou >= settings["iou_thresh"]) & (s >= settings["stability_thresh"])
            if ok.any():
                cands.append(logits[ok])
                scores.append(iou[ok])
                stab.append(s[ok])
                pts += [chunk[int(k) // 3] for k in ok.nonzero().flatten()]
        found = []
        if cands:
            logits, sc, st = torch.cat(cands), torch.cat(scores), torch.cat(stab)
            side = min(model.img_size, 256)
            coarse = F.interpolate(logits.unsqueeze(1), (side, side), mode="bilinear", align_corners=False)[:, 0] > 0
            for k in mask_nms(coarse, sc, settings["nms_thresh"]):
                full = to_original(logits[k][None, None], model.img_size, meta["input_size"], (h, w))[0, 0] > 0
                if not full.any():
                    continue
                ys, xs = torch.nonzero(full, as_tuple=True)
                found.append({**_rle(full), "score": round(float(sc[k]), 6), "stability": round(float(st[k]), 6),
                              "box": [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1],
                              "point": [round(v, 3) for v in pts[k]]})
        out.append({"image_size": [h, w], "everything": found})
    return out
