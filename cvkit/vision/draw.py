"""Drawing on RGB uint8 images with OpenCV, shared by every image task: which detections to draw (one default
threshold and cap), small images enlarged before drawing, line widths and text that scale with the picture, labelled
boxes, captions, class legends, and the matching of drawn boxes to ground truth that validation pictures mark."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from cvkit.vision.detections import as_numpy, ignored

DRAW_CONF = 0.3  # detections scoring under this are not drawn unless --conf says otherwise
MAX_DRAWN = 50  # at most this many detections per picture, highest scores first
MIN_SIDE = 256  # pictures whose shorter side is under this are enlarged (nearest) before drawing
WRONG = (230, 30, 30)  # the colour that marks a mistake (missed object, false positive, wrong class)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def colour(index: int) -> tuple[int, int, int]:
    """A stable, well-separated RGB colour per class index (golden-ratio hue steps), never red: red marks mistakes."""
    hue = 16 + int((index * 0.618033988749895 % 1.0) * 148)  # OpenCV hues 16..163 (32..326 degrees)
    bgr = cv2.cvtColor(np.uint8([[[hue, 200, 255]]]), cv2.COLOR_HSV2RGB)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def draw_limits(options: Any = None) -> tuple[float, int]:
    """``(threshold, cap)`` for drawing: ``options.conf`` (``--conf``) or :data:`DRAW_CONF`, and
    ``options.extra["max_drawn"]`` or :data:`MAX_DRAWN`."""
    conf = getattr(options, "conf", None)
    extra = getattr(options, "extra", None) or {}
    return (DRAW_CONF if conf is None else float(conf)), int(extra.get("max_drawn", MAX_DRAWN))


def pick_drawn(scores: Any, conf: float = DRAW_CONF, limit: int = MAX_DRAWN) -> np.ndarray:
    """Indices of the detections to draw: scoring at least ``conf``, highest first, at most ``limit``."""
    s = np.asarray(scores, np.float64).reshape(-1)
    order = np.argsort(-s, kind="stable")
    return order[s[order] >= conf][: max(0, int(limit))]


def enlarge(image: np.ndarray, at_least: int = MIN_SIDE) -> tuple[np.ndarray, int]:
    """``image`` scaled up by the smallest integer factor that brings its shorter side to ``at_least`` (nearest
    neighbour: pixels stay square, masks stay crisp), and that factor (1: unchanged copy)."""
    h, w = image.shape[:2]
    k = max(1, int(np.ceil(at_least / max(1, min(h, w)))))
    if k == 1:
        return np.ascontiguousarray(image.copy()), 1
    return cv2.resize(image, (w * k, h * k), interpolation=cv2.INTER_NEAREST), k


def line_width(image: np.ndarray) -> int:
    """Box and limb width for a picture: 2 px up to ~670 px, growing with the picture's size."""
    h, w = image.shape[:2]
    return max(2, round((h + w) / 2 * 0.003))


def text_style(image: np.ndarray) -> tuple[float, int]:
    """``(font scale, thickness)`` that keeps labels about 2.5% of the picture's size, at least ~10 px tall."""
    lw = line_width(image)
    return max(0.45, lw / 3), max(1, lw - 1)


def label(img: np.ndarray, text: str, x: int, y: int, bg: tuple[int, int, int], fg: tuple[int, int, int] | None = None,
          below: bool = False) -> None:
    """``text`` on a filled ``bg`` box whose bottom-left corner is ``(x, y)`` (above a box's top edge; inside the
    picture when it would leave it). In place."""
    h, w = img.shape[:2]
    scale, thick = text_style(img)
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thick)
    if below or y - th - base - 2 < 0:
        y = min(h - 1, y + th + base + 2)
    x = max(0, min(x, w - tw - 2))
    if fg is None:  # dark text on light colours, white on dark ones
        fg = (0, 0, 0) if 0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2] > 140 else (255, 255, 255)
    cv2.rectangle(img, (x, y - th - base - 1), (x + tw + 2, y), bg, -1)
    cv2.putText(img, text, (x + 1, y - base), FONT, scale, fg, thick, cv2.LINE_AA)


def draw_boxes(image: np.ndarray, boxes: np.ndarray, labels: Sequence[int], names: Sequence[str],
               scores: Sequence[float] | None = None, dashed: Sequence[bool] | None = None,
               colours: Sequence[tuple[int, int, int] | None] | None = None,
               tags: Sequence[str] | None = None) -> np.ndarray:
    """Labelled boxes (``name score``) in their class colour; ``dashed`` boxes (ignored objects) are dashed;
    ``colours[i]`` overrides a box's colour and ``tags[i]`` is prefixed to its label (e.g. ``FP``). Widths and text
    scale with the picture; enlarge small pictures first (:func:`enlarge`)."""
    out = np.ascontiguousarray(image.copy())
    thick = line_width(out)
    for i, (b, k) in enumerate(zip(np.asarray(boxes).reshape(-1, 4), labels, strict=True)):
        c = colours[i] if colours is not None and colours[i] is not None else colour(int(k))
        x1, y1, x2, y2 = (round(float(v)) for v in b)
        x2, y2 = max(x1, x2 - 1), max(y1, y2 - 1)  # pixel-edge box -> last pixel
        if dashed is not None and dashed[i]:
            dash = 3 * thick
            for x in range(x1, x2, 2 * dash):
                cv2.line(out, (x, y1), (min(x + dash, x2), y1), c, thick)
                cv2.line(out, (x, y2), (min(x + dash, x2), y2), c, thick)
            for y in range(y1, y2, 2 * dash):
                cv2.line(out, (x1, y), (x1, min(y + dash, y2)), c, thick)
                cv2.line(out, (x2, y), (x2, min(y + dash, y2)), c, thick)
        else:
            cv2.rectangle(out, (x1, y1), (x2, y2), c, thick)
        name = names[int(k)] if 0 <= int(k) < len(names) else str(int(k))
        text = name if scores is None else f"{name} {float(scores[i]):.2f}"
        if tags is not None and tags[i]:
            text = f"{tags[i]} {text}"
        label(out, text, x1, y1 - thick // 2, c)
    return out


def caption(image: np.ndarray, lines: list[str], alert: bool = False) -> np.ndarray:
    """Enlarge small images so that text stays legible, then write ``lines`` on a band at the top: dark, or red
    when ``alert`` (a wrong prediction)."""
    h, w = image.shape[:2]
    scale = max(1, 192 // max(h, w))
    img = cv2.resize(image, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST) if scale > 1 else image.copy()
    size, thick = text_style(img)
    size, thick = min(size, 0.6), min(thick, 2)
    step = cv2.getTextSize("Ag", FONT, size, thick)[0][1] + 8
    band = step * len(lines) + 4
    if alert:
        img[:band] = (img[:band] * 0.25 + np.array(WRONG) * 0.75).astype(np.uint8)
    else:
        img[:band] = (img[:band] * 0.35).astype(np.uint8)
    for n, text in enumerate(lines):
        cv2.putText(img, text, (4, step * (n + 1) - 4), FONT, size, (255, 255, 255), thick, cv2.LINE_AA)
    return img


def legend(image: np.ndarray, entries: Sequence[tuple[str, tuple[int, int, int]]]) -> np.ndarray:
    """``image`` with a panel on its right listing ``(name, colour)`` entries as swatches (the classes of a
    segmentation overlay); the panel grows the picture downwards when the list is longer than it is tall."""
    if not entries:
        return image
    h, w = image.shape[:2]
    size, thick = text_style(image)
    size, thick = min(size, 0.7), min(thick, 2)
    (tw, th), _ = cv2.getTextSize(max((n for n, _ in entries), key=len), FONT, size, thick)
    row = th + 10
    width = th + 16 + tw + 8
    height = max(h, row * len(entries) + 8)
    out = np.full((height, w + width, 3), 255, np.uint8)
    out[:h, :w] = image
    for i, (name, c) in enumerate(entries):
        y = 6 + i * row
        cv2.rectangle(out, (w + 6, y), (w + 6 + th, y + th), tuple(int(v) for v in c), -1)
        cv2.rectangle(out, (w + 6, y), (w + 6 + th, y + th), (0, 0, 0), 1)
        cv2.putText(out, name, (w + th + 12, y + th), FONT, size, (0, 0, 0), thick, cv2.LINE_AA)
    return out


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU ``(len(a), len(b))`` of 0-based pixel-edge XYXY boxes."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match_boxes(boxes: np.ndarray, labels: Sequence[int], scores: Sequence[float], gt_boxes: np.ndarray,
                gt_labels: Sequence[int], gt_ignored: Sequence[bool] | None = None, iou: float = 0.5
                ) -> tuple[np.ndarray, np.ndarray]:
    """Greedy matching of drawn detections to ground truth (highest score first, same class, IoU >= ``iou``, each
    object taken once; an ignored object absorbs any number): ``(detection matched, object found)`` as bool arrays.
    A detection left unmatched is a false positive; a non-ignored object left unfound was missed."""
    labels, gt_labels = np.asarray(labels).reshape(-1), np.asarray(gt_labels).reshape(-1)
    ign = np.zeros(len(gt_labels), bool) if gt_ignored is None else np.asarray(gt_ignored, bool)
    ious = box_iou(boxes, gt_boxes)
    matched, found = np.zeros(len(labels), bool), np.zeros(len(gt_labels), bool)
    for d in np.argsort(-np.asarray(scores, np.float64).reshape(-1), kind="stable"):
        cand = np.where((gt_labels == labels[d]) & (ious[d] >= iou) & (~found | ign), ious[d], -1.0)
        cand = np.where(ign, np.minimum(cand, iou - 1e-9), cand)  # prefer a real object to an ignored region
        if len(cand) and cand.max() >= 0:
            j = int(cand.argmax())
            matched[d], found[j] = True, True
    return matched, found & ~ign


def draw_detections(image: np.ndarray, prediction: Any, names: Sequence[str], conf: float | None = None,
                    limit: int = MAX_DRAWN) -> np.ndarray:
    """Labelled boxes of a prediction: those scoring at least ``conf`` (:data:`DRAW_CONF` when None), at most
    ``limit``, highest first, on the image enlarged when small."""
    p = as_numpy(prediction)
    keep = pick_drawn(p["scores"], DRAW_CONF if conf is None else conf, limit)[::-1]  # best drawn last, on top
    img, k = enlarge(image)
    return draw_boxes(img, p["boxes"][keep] * k, p["labels"][keep], names, scores=p["scores"][keep])


def draw_box_target(image: np.ndarray, target: dict[str, Any], names: Sequence[str]) -> np.ndarray:
    """Ground-truth boxes of a raw target (enlarged when small); difficult and crowd boxes are dashed."""
    img, k = enlarge(image)
    return draw_boxes(img, np.asarray(target["boxes"]) * k, target["labels"], names, dashed=ignored(target))


def compare_boxes(image: np.ndarray, prediction: Any, target: dict[str, Any], names: Sequence[str],
                  conf: float = DRAW_CONF, limit: int = MAX_DRAWN) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Ground truth and drawn detections side by side for a validation picture: missed objects (no drawn detection
    of their class at IoU >= 0.5) get a red ``MISSED`` box, false positives a red ``FP`` box. Returns the two
    pictures and the numbers of missed objects and false positives."""
    p = as_numpy(prediction)
    keep = pick_drawn(p["scores"], conf, limit)
    boxes, labels, scores = p["boxes"][keep], p["labels"][keep], p["scores"][keep]
    gt_boxes, gt_labels, ign = np.asarray(target["boxes"]).reshape(-1, 4), np.asarray(target["labels"]), \
        ignored(target)
    matched, found = match_boxes(boxes, labels, scores, gt_boxes, gt_labels, ign)
    missed = ~found & ~ign
    img, k = enlarge(image)
    truth = draw_boxes(img, gt_boxes * k, gt_labels, names, dashed=ign,
                       colours=[WRONG if m else None for m in missed], tags=["MISSED" if m else "" for m in missed])
    order = np.arange(len(keep))[::-1]
    pred = draw_boxes(img, boxes[order] * k, labels[order], names, scores=scores[order],
                      colours=[None if matched[i] else WRONG for i in order],
                      tags=["" if matched[i] else "FP" for i in order])
    return truth, pred, int(missed.sum()), int((~matched).sum())
