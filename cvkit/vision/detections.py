"""Object detections shared by every box task (detection, instance segmentation, ...): the raw target dict, the
prediction dict, JSONL records, CSV rows, COCO results both ways, and the ground truth as an
:class:`~cvkit.vision.schema.AnnotationSet` for :func:`~cvkit.vision.evaluate.coco_evaluate`. Torch-free.

A raw target (what loaders produce; numpy arrays, cheap to pickle into workers and evaluators):
``boxes`` float64 ``(N, 4)`` XYXY in 0-based pixel-edge coordinates (see :mod:`cvkit.vision.schema`), ``labels``
int64 ``(N,)``, ``difficult`` / ``iscrowd`` bool ``(N,)`` (ignored by metrics, left out of training), ``area``
float64 ``(N,)`` (COCO's own ``area``; the box area for VOC), ``size`` ``(height, width)``, ``image_id``, and
optionally ``bbox_xywh`` (COCO's numbers as written) and ``segmentation`` (one polygon list / RLE / None per object).

A prediction: ``boxes`` ``(M, 4)`` XYXY in original pixels, ``scores``, ``labels``; optionally ``masks`` (one COCO
compressed RLE per detection) and ``bbox_xywh`` (read from a COCO results file: scored exactly as written).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.errors import BadInput
from cvkit.vision.schema import AnnotationSet, ImageAnnotation, ObjectAnnotation


def make_target(boxes: Any, labels: Any, size: tuple[int, int], difficult: Any = None, iscrowd: Any = None,
                area: Any = None, image_id: Any = None, bbox_xywh: Any = None) -> dict[str, Any]:
    """A raw target dict with the dtypes and shapes every consumer relies on."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    n = len(b)
    if area is None:
        area = (b[:, 2] - b[:, 0]).clip(min=0) * (b[:, 3] - b[:, 1]).clip(min=0)
    out = {
        "boxes": b,
        "labels": np.asarray(labels, dtype=np.int64).reshape(n),
        "difficult": np.zeros(n, bool) if difficult is None else np.asarray(difficult, dtype=bool).reshape(n),
        "iscrowd": np.zeros(n, bool) if iscrowd is None else np.asarray(iscrowd, dtype=bool).reshape(n),
        "area": np.asarray(area, dtype=np.float64).reshape(n),
        "size": (int(size[0]), int(size[1])),
        "image_id": image_id,
    }
    if bbox_xywh is not None:
        out["bbox_xywh"] = np.asarray(bbox_xywh, dtype=np.float64).reshape(n, 4)
    return out


def target_of(image: ImageAnnotation, labels: Sequence[int] | None = None) -> dict[str, Any]:
    """The raw target of one image of an :class:`AnnotationSet` (``labels``: the objects' labels if remapped)."""
    objs = image.objects
    t = make_target([o.box for o in objs], labels if labels is not None else [o.label for o in objs],
                    (image.height, image.width), [o.difficult for o in objs], [o.iscrowd for o in objs],
                    [o.region_area() for o in objs], image.id,
                    [o.bbox_xywh for o in objs] if objs and all(o.bbox_xywh for o in objs) else None)
    if any(o.segmentation is not None for o in objs):
        t["segmentation"] = [o.segmentation for o in objs]
    return t


def ignored(target: dict[str, Any]) -> np.ndarray:
    """Boolean mask of the objects metrics ignore and training leaves out (VOC difficult, COCO crowd)."""
    return np.asarray(target["difficult"], bool) | np.asarray(target["iscrowd"], bool)


def as_numpy(prediction: dict[str, Any]) -> dict[str, Any]:
    """``boxes``/``scores``/``labels`` (tensors or arrays) as float64/int64 numpy arrays; other keys kept."""

    def arr(v: Any, dtype: Any) -> np.ndarray:
        if hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        return np.asarray(v, dtype=dtype)

    out = dict(prediction)
    out.update(boxes=arr(prediction["boxes"], np.float64).reshape(-1, 4),
               scores=arr(prediction["scores"], np.float64).reshape(-1),
               labels=arr(prediction["labels"], np.int64).reshape(-1))
    return out


def category_ids(info: Any) -> list[int]:
    """The dataset's category ids by label (``info.extra["category_ids"]``), else 1..C."""
    return [int(c) for c in info.extra.get("category_ids") or range(1, len(info.classes) + 1)]


def coco_ids(info: Any, targets: Sequence[dict[str, Any]], indices: Sequence[int]) -> tuple[list[int], list[int]]:
    """Image ids (the dataset's when they are unique ints, else index + 1) and category ids."""
    ids = [t.get("image_id") for t in targets]
    if not all(isinstance(i, (int, np.integer)) for i in ids) or len(set(ids)) != len(ids):
        ids = [int(i) + 1 for i in indices]
    return [int(i) for i in ids], category_ids(info)


def ground_truth(targets: Sequence[dict[str, Any]], image_ids: Sequence[int], info: Any,
                 masks: bool = False) -> AnnotationSet:
    """Raw targets as an AnnotationSet for ``coco_evaluate`` (COCO's numbers kept; ``masks``: with segmentations)."""
    images = []
    for t, image_id in zip(targets, image_ids, strict=True):
        h, w = t["size"]
        xywh = t.get("bbox_xywh")
        segm = t.get("segmentation") if masks else None
        objs = [ObjectAnnotation(box=tuple(float(v) for v in t["boxes"][j]), label=int(t["labels"][j]),
                                 iscrowd=bool(t["iscrowd"][j]), difficult=bool(t["difficult"][j]),
                                 area=float(t["area"][j]), segmentation=segm[j] if segm is not None else None,
                                 bbox_xywh=tuple(float(v) for v in xywh[j]) if xywh is not None else None)
                for j in range(len(t["labels"]))]
        images.append(ImageAnnotation(id=int(image_id), path=str(image_id), width=int(w), height=int(h),
                                      objects=objs))
    return AnnotationSet(name=str(getattr(info, "name", "")), format=str(getattr(info, "format", "")),
                         split=str(getattr(info, "split", "")), images=images, classes=list(info.classes),
                         category_ids=category_ids(info))


def results_list(predictions: Sequence[dict[str, Any]], image_ids: Sequence[int], cat_ids: Sequence[int],
                 masks: bool = False) -> list[dict[str, Any]]:
    """A COCO results list of per-image predictions (boxes as written when read from a results file)."""
    out = []
    for p, image_id in zip(predictions, image_ids, strict=True):
        if p.get("bbox_xywh") is not None:  # as a results file wrote them: pycocotools' area is w * h of these
            xywh = np.asarray(p["bbox_xywh"], np.float64).reshape(-1, 4).tolist()
        else:
            b = np.asarray(p["boxes"], np.float64).reshape(-1, 4)
            xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], 1).tolist()
        cats = [int(cat_ids[k]) for k in np.asarray(p["labels"]).reshape(-1).tolist()]
        for i, score in enumerate(np.asarray(p["scores"], np.float64).reshape(-1).tolist()):
            r = {"image_id": image_id, "category_id": cats[i], "bbox": xywh[i], "score": score}
            if masks:
                r["segmentation"] = p["masks"][i]
            out.append(r)
    return out


def rle_area(rle: dict[str, Any]) -> int:
    from pycocotools import mask as mask_utils

    counts = rle["counts"]
    return int(mask_utils.area({"size": list(rle["size"]),
                                "counts": counts.encode("ascii") if isinstance(counts, str) else counts}))


def to_record(prediction: dict[str, Any], classes: Sequence[str]) -> dict[str, Any]:
    """``{"detections": [{"label", "index", "score", "box": [x1, y1, x2, y2]}]}``, best first, 0-based pixels; with
    masks each detection adds ``area`` (mask pixels) and ``rle``."""
    p = as_numpy(prediction)
    dets = []
    for i in np.argsort(-p["scores"], kind="stable"):
        k = int(p["labels"][i])
        d = {"label": classes[k] if 0 <= k < len(classes) else str(k), "index": k,
             "score": round(float(p["scores"][i]), 6), "box": [round(float(v), 3) for v in p["boxes"][i]]}
        if "masks" in p:
            rle = p["masks"][i]
            d.update(area=rle_area(rle), rle={"size": [int(v) for v in rle["size"]], "counts": str(rle["counts"])})
        dets.append(d)
    return {"detections": dets}


def from_record(rec: dict[str, Any], classes: Sequence[str], masks: bool = False) -> dict[str, Any]:
    """The prediction written by :func:`to_record` (class from ``index``, else ``label``); ``{}`` is the empty
    prediction. Malformed entries raise ValueError naming them."""
    names = {c: i for i, c in enumerate(classes)}
    boxes, scores, labels, rles = [], [], [], []
    dets = rec.get("detections", [])
    if not isinstance(dets, list):
        raise ValueError("'detections' is not a list")
    for j, d in enumerate(dets):
        try:
            k = int(d["index"]) if "index" in d else names[d["label"]]
            box = [float(v) for v in d["box"]]
            if len(box) != 4:
                raise ValueError("box must have 4 numbers")
            score = float(d["score"])
            if masks:
                rles.append({"size": [int(v) for v in d["rle"]["size"]], "counts": d["rle"]["counts"]})
            boxes.append(box)
            scores.append(score)
            labels.append(k)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"detections[{j}]: {type(exc).__name__}: {exc}") from None
    out = {"boxes": np.array(boxes, np.float64).reshape(-1, 4), "scores": np.array(scores, np.float64),
           "labels": np.array(labels, np.int64)}
    if masks:
        out["masks"] = rles
    return out


def csv_rows(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per detection: source, label, index, score, x1, y1, x2, y2 (and area with masks)."""
    return [{"source": rec.get("source", ""), "label": d["label"], "index": d["index"], "score": d["score"],
             "x1": d["box"][0], "y1": d["box"][1], "x2": d["box"][2], "y2": d["box"][3],
             **({"area": d["area"]} if "area" in d else {})} for d in rec.get("detections", [])]


def coco_results(prediction: dict[str, Any], info: Any, image_id: Any) -> list[dict[str, Any]]:
    """``cvkit predict --format coco`` entries: bbox rounded to 3 decimals, score to 6 (and the mask's RLE)."""
    p = as_numpy(prediction)
    cats = category_ids(info)
    out = []
    for i in range(len(p["scores"])):
        b = p["boxes"][i]
        r = {"image_id": image_id, "category_id": cats[int(p["labels"][i])],
             "bbox": [round(float(b[0]), 3), round(float(b[1]), 3), round(float(b[2] - b[0]), 3),
                      round(float(b[3] - b[1]), 3)], "score": round(float(p["scores"][i]), 6)}
        if "masks" in p:
            m = p["masks"][i]
            r["segmentation"] = {"size": [int(v) for v in m["size"]], "counts": str(m["counts"])}
        out.append(r)
    return out


def read_results(path: Path, info: Any, masks: bool = False) -> Iterator[tuple[str, dict[str, Any]]] | None:
    """A COCO results list as ``(file name, prediction)`` per image, boxes kept exactly as written
    (``bbox_xywh``); None when ``path`` is not a results list. ``masks``: every result needs an RLE segmentation
    (its box is its ``bbox``, else the mask's)."""
    from cvkit.vision.results import is_results_file, read_coco_results

    path = Path(path)
    if path.is_dir() or not is_results_file(path):
        return None
    index = {c: i for i, c in enumerate(category_ids(info))}
    names = {v: k for k, v in (info.extra.get("image_ids") or {}).items()}
    grouped: dict[Any, list[tuple[list[float], float, int, Any]]] = {}
    boxless: list[tuple[list[float], dict[str, Any]]] = []
    for j, r in enumerate(read_coco_results(path)):
        if r["category_id"] not in index:
            raise BadInput(path, f"bad result: category_id {r['category_id']!r} is not a category of the dataset",
                           where=f"[{j}].category_id")
        rle = _result_rle(r, path, j) if masks else None
        if "bbox" in r:
            xywh = [float(v) for v in r["bbox"]]
        elif rle is not None:
            xywh = []  # the mask's box, filled below by one toBbox call for all such results
            boxless.append((xywh, rle))
        else:
            raise BadInput(path, "bad result: no bbox", where=f"[{j}]")
        grouped.setdefault(r["image_id"], []).append((xywh, float(r["score"]), index[r["category_id"]], rle))
    for (xywh, _), box in zip(boxless, _rle_boxes([rle for _, rle in boxless]), strict=True):
        xywh.extend(box)

    def items() -> Iterator[tuple[str, dict[str, Any]]]:
        for image_id, dets in grouped.items():
            xywh = np.array([d[0] for d in dets], np.float64).reshape(-1, 4)
            boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
            p = {"boxes": boxes, "scores": np.array([d[1] for d in dets], np.float64),
                 "labels": np.array([d[2] for d in dets], np.int64), "bbox_xywh": xywh}
            if masks:
                p["masks"] = [d[3] for d in dets]
            yield str(names.get(image_id, image_id)), p

    return items()


def _result_rle(r: dict[str, Any], path: Path, j: int) -> dict[str, Any]:
    from pycocotools import mask as mask_utils

    segm = r.get("segmentation")
    if not (isinstance(segm, dict) and "counts" in segm and "size" in segm):
        raise BadInput(path, "bad result: segmentation must be an RLE {size, counts}", where=f"[{j}].segmentation")
    if isinstance(segm["counts"], list):
        segm = mask_utils.frPyObjects(segm, *segm["size"])
    counts = segm["counts"]
    return {"size": [int(v) for v in segm["size"]],
            "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}


def _rle_boxes(rles: list[dict[str, Any]]) -> list[list[float]]:
    """``[x, y, w, h]`` of each RLE, by one pycocotools ``toBbox`` call (each box as a per-RLE call gives it)."""
    from pycocotools import mask as mask_utils

    if not rles:
        return []
    return mask_utils.toBbox([{"size": list(r["size"]), "counts": r["counts"].encode("ascii")
                               if isinstance(r["counts"], str) else r["counts"]} for r in rles]).tolist()
