"""``scenes``: synthetic images of 1-3 coloured shapes with templated captions and questions (torch-free).

64x64 RGB images on a dark noisy background; each object has a shape (circle, square, triangle), one of six
colours and a size (small, large). Objects never overlap, and their layout keeps relations unambiguous: two
objects are clearly side by side or one above the other; three are clearly ordered from left to right.

Each scene has 5 reference captions of varied wording ("a small red circle left of a large blue square", "a
large blue square right of a small red circle", ...) from a 29-word vocabulary, and up to 5 questions, one of
each type that the scene allows: ``color`` ("what color is the square?"), ``shape`` ("what shape is the red
object?"), ``count`` ("how many circles are there?"), ``relation`` ("what shape is left of the blue square?")
and ``exist`` ("is there a green triangle?", yes or no). There are 15 answers: 6 colours, 3 shapes, 0-3 and
yes/no.

Deterministic: scene ``i`` of a split is drawn from its own generator ``(seed, split, i)``. The same scenes are
written as COCO captions (:func:`write_captions`) or as VQA v2 files (:func:`write_vqa`), read back by the real
loaders of the caption and vqa tasks.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from cvkit.errors import CvkitError

IMAGE_SIZE = 64
SHAPES = ("circle", "square", "triangle")
COLOURS = {"red": (220, 40, 40), "green": (40, 190, 60), "blue": (50, 90, 240), "yellow": (235, 215, 40),
           "purple": (160, 60, 210), "white": (240, 240, 240)}
SIZES = {"small": 5.5, "large": 10.0}  # half-widths in pixels
RELATIONS = ("left", "right", "above", "below")
SPLITS = {"train": 0, "val": 1}
DESCRIPTION = "cvkit builtin scenes"  # the ``info.description`` the caption task recognises (slot metrics)
QUESTION_TYPES = ("color", "shape", "count", "relation", "exist")
ANSWER_TYPES = {"color": "other", "shape": "other", "relation": "other", "count": "number", "exist": "yes/no"}
_SIZE_NAMES, _COLOUR_NAMES = tuple(SIZES), tuple(COLOURS)
_PHRASE = {"left": "left of", "right": "right of", "above": "above", "below": "below"}
_INVERSE = {"left": "right", "right": "left", "above": "below", "below": "above"}


def default_counts(size: int | None) -> dict[str, int]:
    """Images per split: ``size`` train images (default 3,000) and a sixth as many for val."""
    n = 3000 if size is None else int(size)
    if n < 1:
        raise CvkitError(f"--size {n}: scenes needs at least 1 image")
    return {"train": n, "val": max(1, n // 6)}


# ------------------------------------------------------------------------------------------------- scenes
def _fits(objs: list[dict[str, Any]], o: dict[str, Any]) -> bool:
    for p in objs:
        if math.hypot(p["x"] - o["x"], p["y"] - o["y"]) < p["r"] + o["r"] + 3:
            return False
    if len(objs) == 1:  # two objects: one axis clearly dominates
        dx, dy = abs(objs[0]["x"] - o["x"]), abs(objs[0]["y"] - o["y"])
        if max(dx, dy) < 1.6 * min(dx, dy) or max(dx, dy) < objs[0]["r"] + o["r"] + 4:
            return False
    if len(objs) == 2:  # three objects: clearly ordered from left to right
        xs = sorted([*(p["x"] for p in objs), o["x"]])
        if min(b - a for a, b in zip(xs, xs[1:], strict=False)) < 9:
            return False
    return True


def generate(seed: int, split: str, i: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Scene ``i`` of ``split``: an RGB uint8 ``(64, 64, 3)`` image and its objects
    ``[{"shape", "colour", "size", "x", "y", "r"}]`` (centre and half-width in pixels)."""
    rng = np.random.default_rng([seed, SPLITS[split], i])
    s = IMAGE_SIZE
    n = int(rng.integers(1, 4))
    while True:
        objs: list[dict[str, Any]] = []
        for _ in range(200):
            size = _SIZE_NAMES[int(rng.integers(2))]
            r = SIZES[size]
            o = {"shape": SHAPES[int(rng.integers(3))], "colour": _COLOUR_NAMES[int(rng.integers(6))],
                 "size": size, "x": float(rng.uniform(r + 2, s - r - 2)), "y": float(rng.uniform(r + 2, s - r - 2)),
                 "r": r}
            if _fits(objs, o):
                objs.append(o)
                if len(objs) == n:
                    break
        if len(objs) == n:
            break
    img = np.full((s, s, 3), rng.uniform(15, 60), np.float64) + rng.normal(0, 5, (s, s, 3))
    for o in objs:
        mask = np.zeros((s, s), np.uint8)
        x, y, r = o["x"], o["y"], o["r"]
        if o["shape"] == "circle":
            cv2.circle(mask, (round(x * 4), round(y * 4)), round(r * 4), 1, -1, cv2.LINE_AA, shift=2)
        elif o["shape"] == "square":
            cv2.rectangle(mask, (round(x - r), round(y - r)), (round(x + r) - 1, round(y + r) - 1), 1, -1)
        else:
            pts = np.array([[x, y - r], [x - r, y + r * 0.85], [x + r, y + r * 0.85]])
            cv2.fillPoly(mask, [np.round(pts * 4).astype(np.int32)], 1, cv2.LINE_AA, shift=2)
        m = mask.astype(bool)
        img[m] = np.asarray(COLOURS[o["colour"]], np.float64) + rng.normal(0, 6, (int(m.sum()), 3))
    return img.clip(0, 255).astype(np.uint8), objs


def relation(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Where ``a`` is relative to ``b`` along the dominant axis: left, right, above or below."""
    dx, dy = a["x"] - b["x"], a["y"] - b["y"]
    if abs(dx) >= abs(dy):
        return "left" if dx < 0 else "right"
    return "above" if dy < 0 else "below"


def _phrase(o: dict[str, Any]) -> str:
    return f"{o['size']} {o['colour']} {o['shape']}"


def captions(objs: list[dict[str, Any]]) -> list[str]:
    """The 5 reference captions of a scene."""
    if len(objs) == 1:
        o = objs[0]
        p = _phrase(o)
        return [f"a {p}", f"there is a {p}", f"a {o['colour']} {o['shape']} that is {o['size']}", f"one {p}",
                f"a single {p}"]
    if len(objs) == 2:
        a, b = objs
        rel = relation(a, b)
        pa, pb, r, inv = _phrase(a), _phrase(b), _PHRASE[rel], _PHRASE[_INVERSE[rel]]
        return [f"a {pa} {r} a {pb}", f"a {pb} {inv} a {pa}", f"there is a {pa} {r} a {pb}",
                f"a {pa} is {r} a {pb}", f"a {pb} with a {pa} {r} it"]
    a, b, c = (_phrase(o) for o in sorted(objs, key=lambda o: o["x"]))
    return [f"a {a} a {b} and a {c} from left to right", f"from left to right a {a} a {b} and a {c}",
            f"a {a} left of a {b} left of a {c}", f"a {c} right of a {b} right of a {a}",
            f"three shapes a {a} a {b} and a {c}"]


def slots(tokens: list[str]) -> dict[str, tuple[str, ...]]:
    """The words of a caption that name colours, shapes and relations, in order (per-slot accuracy)."""
    return {"color": tuple(t for t in tokens if t in COLOURS),
            "shape": tuple(t for t in tokens if t in SHAPES),
            "relation": tuple(t for t in tokens if t in RELATIONS)}


def questions(objs: list[dict[str, Any]], rng: np.random.Generator) -> list[dict[str, str]]:
    """One question of each type the scene allows: ``[{"question", "answer", "type"}]``."""
    out = []
    shapes = [o["shape"] for o in objs]
    colours = [o["colour"] for o in objs]
    unique_shape = [o for o in objs if shapes.count(o["shape"]) == 1]
    if unique_shape:
        o = unique_shape[int(rng.integers(len(unique_shape)))]
        out.append({"question": f"what color is the {o['shape']}?", "answer": o["colour"], "type": "color"})
    unique_colour = [o for o in objs if colours.count(o["colour"]) == 1]
    if unique_colour:
        o = unique_colour[int(rng.integers(len(unique_colour)))]
        out.append({"question": f"what shape is the {o['colour']} object?", "answer": o["shape"], "type": "shape"})
    if rng.random() < 0.5:
        out.append({"question": "how many shapes are there?", "answer": str(len(objs)), "type": "count"})
    else:
        shape = SHAPES[int(rng.integers(3))]
        out.append({"question": f"how many {shape}s are there?", "answer": str(shapes.count(shape)),
                    "type": "count"})
    asks = []
    for t in objs:
        if sum(1 for o in objs if o["shape"] == t["shape"] and o["colour"] == t["colour"]) > 1:
            continue
        for rel in RELATIONS:
            hits = [o for o in objs if o is not t and relation(o, t) == rel]
            if len(hits) == 1:
                asks.append((rel, t, hits[0]))
    if asks:
        rel, t, o = asks[int(rng.integers(len(asks)))]
        out.append({"question": f"what shape is {_PHRASE[rel]} the {t['colour']} {t['shape']}?",
                    "answer": o["shape"], "type": "relation"})
    if rng.random() < 0.5:
        o = objs[int(rng.integers(len(objs)))]
        colour, shape, answer = o["colour"], o["shape"], "yes"
    else:
        present = {(o["colour"], o["shape"]) for o in objs}
        absent = [(c, s) for c in COLOURS for s in SHAPES if (c, s) not in present]
        colour, shape = absent[int(rng.integers(len(absent)))]
        answer = "no"
    out.append({"question": f"is there a {colour} {shape}?", "answer": answer, "type": "exist"})
    return out


# ------------------------------------------------------------------------------------------------ writing
def _save_jpeg(path: Path, rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95]):
        raise CvkitError(f"cannot write {path}")


def _prepare(out: Path) -> Path:
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise CvkitError(f"{out} exists and is not empty")
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_captions(out: Path, size: int | None = None, seed: int = 0) -> Path:
    """COCO captions: ``annotations/captions_{train,val}2017.json`` and ``{train,val}2017/<id:012d>.jpg`` under
    ``out`` (absent or empty; the caller publishes it)."""
    root = _prepare(out)
    (root / "annotations").mkdir()
    for split, n in default_counts(size).items():
        (root / f"{split}2017").mkdir()
        images, anns = [], []
        for i in range(n):
            img, objs = generate(seed, split, i)
            name = f"{i + 1:012d}.jpg"
            _save_jpeg(root / f"{split}2017" / name, img)
            images.append({"id": i + 1, "file_name": name, "height": IMAGE_SIZE, "width": IMAGE_SIZE})
            for caption in captions(objs):
                anns.append({"image_id": i + 1, "id": len(anns) + 1, "caption": caption})
        doc = {"info": {"description": DESCRIPTION, "version": "1"}, "licenses": [], "images": images,
               "annotations": anns}
        (root / "annotations" / f"captions_{split}2017.json").write_text(json.dumps(doc))

    return root


def write_vqa(out: Path, size: int | None = None, seed: int = 0) -> Path:
    """VQA v2 layout: ``v2_OpenEnded_mscoco_{split}2014_questions.json``, ``v2_mscoco_{split}2014_annotations.json``
    and ``{split}2014/COCO_{split}2014_<id:012d>.jpg`` under ``out`` (absent or empty; the caller publishes it);
    every question has 10 identical answers."""
    root = _prepare(out)
    for split, n in default_counts(size).items():
        folder = root / f"{split}2014"
        folder.mkdir()
        qs, anns = [], []
        for i in range(n):
            img, objs = generate(seed, split, i)
            image_id = i + 1
            _save_jpeg(folder / f"COCO_{split}2014_{image_id:012d}.jpg", img)
            rng = np.random.default_rng([seed, SPLITS[split], i, 1])
            for k, q in enumerate(questions(objs, rng)):
                qid = image_id * 10 + k
                qs.append({"image_id": image_id, "question": q["question"], "question_id": qid})
                anns.append({"question_id": qid, "image_id": image_id, "question_type": q["type"],
                             "answer_type": ANSWER_TYPES[q["type"]], "multiple_choice_answer": q["answer"],
                             "answers": [{"answer": q["answer"], "answer_confidence": "yes", "answer_id": j + 1}
                                         for j in range(10)]})
        info = {"description": DESCRIPTION, "version": "1"}
        (root / f"v2_OpenEnded_mscoco_{split}2014_questions.json").write_text(json.dumps(
            {"info": info, "task_type": "Open-Ended", "data_type": "mscoco", "data_subtype": f"{split}2014",
             "questions": qs}))
        (root / f"v2_mscoco_{split}2014_annotations.json").write_text(json.dumps(
            {"info": info, "data_type": "mscoco", "data_subtype": f"{split}2014", "annotations": anns}))

    return root
