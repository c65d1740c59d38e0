"""Prediction records (JSONL) and CSV rows. Masks are COCO compressed RLEs of the original image.

- prompts (``cvkit predict`` with ``--point``/``--box``/``--points-file``): ``{"image_size": [h, w], "prompts":
  [{"points": [[x, y, label]], "box": [x1, y1, x2, y2] | null, "masks": [{"rle", "area", "score"}], "best": i}]}``
  (``score``: the predicted IoU; ``best``: the chosen mask; three masks with ``--multimask``).
- everything (``--everything``): ``{"image_size", "everything": [{"rle", "area", "score", "stability", "box",
  "point"}]}``, best first.
- simulated clicks (what evaluation scores, also readable by ``eval --predictions``): ``{"objects": [{"clicks":
  [[x, y, label]], "masks": [RLE after each click], "scores", "box", "box_mask", "box_score"}]}``, objects in the
  annotation's order.
"""

from __future__ import annotations

from typing import Any

KINDS = ("prompts", "everything", "objects")


def record(prediction: dict[str, Any]) -> dict[str, Any]:
    return dict(prediction)


def parse_record(rec: dict[str, Any]) -> dict[str, Any]:
    """The prediction of a record; ``{}`` (no record) is the empty prediction (every object scores 0).

    Only simulated-click records can be scored: prompts the user chose name no annotated object."""
    if not rec:
        return {"objects": []}
    if "objects" not in rec:
        raise ValueError("only records of simulated clicks (\"objects\") can be scored; records of your own "
                         "prompts name no annotated object (score a model with `cvkit eval --weights`)")
    objects = rec["objects"]
    if not isinstance(objects, list) or not all(isinstance(o, dict) and isinstance(o.get("masks"), list)
                                                for o in objects):
        raise ValueError("'objects' must be a list of {clicks, masks, box_mask}")
    return {"objects": objects}


def csv_rows(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per mask: source, prompt (or object) number, output number, score, area."""
    src = rec.get("source")
    rows = []
    for i, p in enumerate(rec.get("prompts") or []):
        for t, m in enumerate(p["masks"]):
            rows.append({"source": src, "prompt": i, "mask": t, "best": int(t == p["best"]), "score": m["score"],
                         "area": m["area"], "points": " ".join(f"{x:g},{y:g},{lab}" for x, y, lab in p["points"]),
                         "box": ",".join(f"{v:g}" for v in p["box"]) if p["box"] else ""})
    for i, m in enumerate(rec.get("everything") or []):
        rows.append({"source": src, "prompt": i, "mask": 0, "best": 1, "score": m["score"], "area": m["area"],
                     "points": "{:g},{:g},1".format(*m["point"]), "box": ",".join(str(v) for v in m["box"])})
    for i, o in enumerate(rec.get("objects") or []):
        for t, s in enumerate(o.get("scores") or []):
            rows.append({"source": src, "prompt": i, "mask": t, "best": int(t == len(o["scores"]) - 1),
                         "score": s, "area": "", "points": " ".join("{},{},{}".format(*c) for c in o["clicks"][:t + 1]),
                         "box": ""})
    return rows or [{"source": src}]
