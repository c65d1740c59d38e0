"""COCO evaluation of an :class:`~cvkit.vision.schema.AnnotationSet` against a COCO results list: boxes (``bbox``),
masks (``segm``) and keypoints (``keypoints``) alike, through :class:`cvkit.metrics.cocoeval.FastCOCOeval`, whose
numbers are pycocotools' ``COCOeval``'s bit for bit.

The ground truth handed to the evaluator holds the annotation file's own numbers: ``bbox`` as written
(``ObjectAnnotation.bbox_xywh``; from the XYXY box only where the format has none), ``area``, ``iscrowd``,
``segmentation``, ``keypoints``, ``num_keypoints`` and annotation ids (renumbered 1..N only when they are missing
or repeat, as for VOC). VOC ``difficult`` objects become crowd regions (ignored, matched by intersection over
detection area). Results are evaluated as given (``loadRes`` computes a box result's area as ``w * h`` of the
numbers written), except that for ``segm`` the ``bbox`` of mask results is dropped so that the mask's own area
decides small / medium / large, as for the ground truth (Detectron2 does the same; ``mask_area=False`` keeps it).
With no results at all, ``loadRes`` would fail: an empty result set is evaluated (AP 0 where there is ground truth,
-1 where a range has none). pycocotools' progress and tables are kept off stdout.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cvkit.errors import BadInput
from cvkit.vision.schema import AnnotationSet

BOX_STATS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
KEYPOINT_STATS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
IOU_TYPES = ("bbox", "segm", "keypoints")
AREA_CHUNK = 255


def _quiet() -> contextlib.AbstractContextManager:
    return contextlib.redirect_stdout(io.StringIO())


def _ann_ids(gt: AnnotationSet) -> list[Any] | None:
    """The objects' own ids when they are all integers and unique (pycocotools needs unique ids), else None."""
    ids = [o.id for im in gt.images for o in im.objects]
    if all(type(i) is int for i in ids) and len(set(ids)) == len(ids):
        return ids
    return None


def coco_ground_truth(gt: AnnotationSet, iou_type: str = "bbox") -> dict[str, Any]:
    """A COCO instances (or person keypoints) dict of ``gt`` with the numbers described in the module docstring."""
    if iou_type not in IOU_TYPES:
        raise ValueError(f"iou_type must be one of {', '.join(IOU_TYPES)}, not {iou_type!r}")
    cat_ids = [int(c) for c in gt.category_ids] or list(range(1, len(gt.classes) + 1))
    where = gt.files[0] if gt.files else gt.name
    ids = _ann_ids(gt)
    images, anns = [], []
    n_kp = len(gt.extra.get("keypoint_names") or [])
    for im in gt.images:
        images.append({"id": im.id, "width": im.width, "height": im.height, "file_name": im.file_name})
        for o in im.objects:
            x1, y1, x2, y2 = o.box
            bbox = list(o.bbox_xywh) if o.bbox_xywh is not None else [x1, y1, x2 - x1, y2 - y1]
            a = {"id": ids[len(anns)] if ids is not None else len(anns) + 1, "image_id": im.id,
                 "category_id": cat_ids[o.label], "bbox": bbox, "area": o.region_area(),
                 "iscrowd": int(o.iscrowd or o.difficult)}
            if o.segmentation is not None:
                a["segmentation"] = o.segmentation
            elif iou_type == "segm":
                raise BadInput(where, "mask AP needs a segmentation for every object", where=f"image {im.id!r}")
            if iou_type == "keypoints":
                kp = list(o.keypoints) if o.keypoints is not None else [0] * (3 * n_kp)
                a["keypoints"] = kp
                a["num_keypoints"] = o.num_keypoints if o.num_keypoints is not None else \
                    sum(1 for v in kp[2::3] if v > 0)
            anns.append(a)
    cats = [{"id": c, "name": n} for c, n in zip(cat_ids, gt.classes, strict=True)]
    if iou_type == "keypoints":
        for c in cats:
            c["keypoints"] = list(gt.extra.get("keypoint_names") or [])
    return {"info": {}, "licenses": [], "images": images, "annotations": anns, "categories": cats}


@dataclass
class CocoScores:
    """The summary numbers by name (``AP``, ``AP50``, ...), the evaluator (``eval["precision"]`` etc.) and the
    ground truth's category ids and class names (in label order)."""

    iou_type: str
    stats: dict[str, float]
    evaluator: Any
    category_ids: list[int] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> float:
        return self.stats[name]

    def _columns(self) -> list[tuple[int, str]]:
        """``(column k of eval arrays, class name)`` in label order (the evaluator sorts category ids)."""
        col = {c: k for k, c in enumerate(self.evaluator.params.catIds)}
        return [(col[c], n) for c, n in zip(self.category_ids, self.classes, strict=True) if c in col]

    def per_class(self) -> list[dict[str, Any]]:
        """Per-class AP (IoU .50:.95) and AP50 over all areas at the largest maxDets; None without ground truth."""
        prec = self.evaluator.eval["precision"]  # [T, R, K, A, M]
        rows = []
        for index, (k, name) in enumerate(self._columns()):
            p, p50 = prec[:, :, k, 0, -1], prec[0, :, k, 0, -1]
            rows.append({"class": name, "index": index,
                         "AP": float(p[p > -1].mean()) if (p > -1).any() else None,
                         "AP50": float(p50[p50 > -1].mean()) if (p50 > -1).any() else None})
        return rows

    def pr_curves(self) -> dict[str, dict[str, Any]]:
        """Precision at the 101 recall thresholds, IoU 0.5, per class (``ap``: AP50, absent without ground truth)."""
        prec = self.evaluator.eval["precision"]
        rec = [float(r) for r in self.evaluator.params.recThrs]
        out: dict[str, dict[str, Any]] = {}
        for k, name in self._columns():
            p = prec[0, :, k, 0, -1]
            out[name] = {"recall": rec, "precision": [max(0.0, float(v)) for v in p]}
            if (p > -1).any():
                out[name]["ap"] = float(p[p > -1].mean())
        return out


    def confidence_curves(self, points: int = 101) -> dict[str, Any]:
        """Precision, recall and F1 at IoU 0.5 (all areas, the largest maxDets) of the detections scoring at least
        each of ``points`` confidence thresholds in [0, 1], per class with ground truth, matched as ``accumulate``
        does: ``{"confidence": [...], "classes": {name: {"precision", "recall", "f1"}}}``."""
        ev = self.evaluator
        n_img, n_area, max_det = len(ev.params.imgIds), len(ev.params.areaRng), ev.params.maxDets[-1]
        out: dict[str, Any] = {"confidence": [float(c) for c in np.linspace(0.0, 1.0, points)], "classes": {}}
        for k, name in self._columns():
            cells = [e for e in ev.evalImgs[k * n_area * n_img : k * n_area * n_img + n_img] if e is not None]
            npos = sum(int(np.count_nonzero(np.asarray(e["gtIgnore"]) == 0)) for e in cells)
            if not npos:
                continue
            scores = np.concatenate([np.asarray(e["dtScores"][:max_det], np.float64) for e in cells])
            order = np.argsort(-scores, kind="mergesort")
            dtm = np.concatenate([np.asarray(e["dtMatches"])[0, :max_det] for e in cells])[order]
            dtig = np.concatenate([np.asarray(e["dtIgnore"])[0, :max_det] for e in cells])[order].astype(bool)
            tp = np.cumsum((dtm != 0) & ~dtig)
            fp = np.cumsum((dtm == 0) & ~dtig)
            with np.errstate(divide="ignore", invalid="ignore"):
                precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
            out["classes"][name] = confidence_curve(scores[order], precision, tp / npos, points)
        return out


def confidence_curve(scores: Sequence[float], precision: Sequence[float], recall: Sequence[float],
                     points: int = 101) -> dict[str, list[float]]:
    """Precision, recall and F1 of the detections scoring at least each of ``points`` thresholds in [0, 1], read off
    cumulative ``precision`` / ``recall`` over the detections sorted by descending ``scores`` (at a threshold, the
    values after the last detection that passes it). With no detection passing, precision is 1 and recall 0."""
    s = np.asarray(scores, np.float64)
    p, r = np.asarray(precision, np.float64), np.nan_to_num(np.asarray(recall, np.float64))
    conf = np.linspace(0.0, 1.0, points)
    n = np.searchsorted(-s, -conf, side="right")  # detections scoring >= each threshold
    prec = np.where(n > 0, p[np.maximum(n - 1, 0)] if len(p) else 1.0, 1.0)
    rec = np.where(n > 0, r[np.maximum(n - 1, 0)] if len(r) else 0.0, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(prec + rec > 0, 2 * prec * rec / (prec + rec), 0.0)
    return {"precision": prec.tolist(), "recall": rec.tolist(), "f1": f1.tolist()}


def _check_results(results: list[dict[str, Any]], image_ids: set[Any], iou_type: str, n_kp: int,
                   source: str | Path) -> None:
    need = {"bbox": ("bbox", "segmentation"), "segm": ("segmentation",), "keypoints": ("keypoints",)}[iou_type]
    for j, r in enumerate(results):
        if r.get("image_id") not in image_ids:
            raise BadInput(source, f"image_id {r.get('image_id')!r} is not an image of the ground truth",
                           where=f"[{j}].image_id")
        if not any(k in r for k in need):
            raise BadInput(source, f"a {iou_type} result needs {' or '.join(need)}", where=f"[{j}]")
        if iou_type == "keypoints" and len(r["keypoints"]) != 3 * n_kp:
            raise BadInput(source, f"expected {3 * n_kp} keypoint numbers, got {len(r['keypoints'])}",
                           where=f"[{j}].keypoints")


def polygons_to_rle(dataset: dict[str, Any]) -> None:
    """Replace each polygon ``segmentation`` of a COCO dataset dict by the RLE pycocotools' ``annToRLE`` makes of it
    (``frPyObjects`` then ``merge``), with one ``frPyObjects`` call for all polygons of images of the same size
    instead of one per object: the C routine converts each polygon on its own, so the RLEs are the same bytes.
    Objects whose polygons pycocotools would not take as polygons (a first one of 4 numbers or fewer, an entry that
    is not a list) are left for ``annToRLE`` itself."""
    from pycocotools import mask as mask_utils

    sizes = {im["id"]: (im.get("height"), im.get("width")) for im in dataset["images"]}
    groups: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for a in dataset["annotations"]:
        segm, size = a.get("segmentation"), sizes.get(a["image_id"])
        if type(segm) is list and segm and all(type(p) is list for p in segm) and len(segm[0]) > 4 \
                and size is not None and type(size[0]) is int and type(size[1]) is int:
            groups.setdefault(size, []).append(a)
    for (h, w), anns in groups.items():
        rles = mask_utils.frPyObjects([p for a in anns for p in a["segmentation"]], h, w)
        at = 0
        for a in anns:
            n = len(a["segmentation"])
            # merge of a single RLE is a copy of it (rleMerge), so it is skipped
            a["segmentation"] = rles[at] if n == 1 else mask_utils.merge(rles[at:at + n])
            at += n


def load_results(coco_gt: Any, results: list[dict[str, Any]]) -> Any:
    """``coco_gt.loadRes(results)`` (which it modifies as loadRes does), with the areas and boxes of mask results
    computed by one ``area`` / ``toBbox`` call over all masks instead of one per result: the same numbers and types
    (``numpy.uint32`` areas, float64 boxes), and with the boxes and areas of keypoint results computed per skeleton
    length at once (:func:`_load_keypoint_results`). Other kinds go to ``loadRes`` itself."""
    from pycocotools import mask as mask_utils

    first = results[0]
    boxes_first = "caption" in first or ("bbox" in first and first["bbox"] != [])
    if not boxes_first and "segmentation" not in first and "keypoints" in first:
        return _load_keypoint_results(coco_gt, results)
    masks = "segmentation" in first and not boxes_first
    segms = [r.get("segmentation") for r in results] if masks else []
    if not masks or not all(type(s) is dict and type(s.get("counts")) in (str, bytes) for s in segms):
        return coco_gt.loadRes(results)
    # at most 255 masks a call: pycocotools' area() sizes a uint8 array by the count (an OverflowError above 255)
    areas = [a for k in range(0, len(segms), AREA_CHUNK) for a in mask_utils.area(segms[k:k + AREA_CHUNK])]
    no_box = [j for j, r in enumerate(results) if "bbox" not in r]
    boxes = iter(mask_utils.toBbox([segms[j] for j in no_box]) if no_box else ())
    for j, r in enumerate(results):
        r["area"] = areas[j]
        if "bbox" not in r:
            r["bbox"] = next(boxes)
        r["id"] = j + 1
        r["iscrowd"] = 0
    return _results_coco(coco_gt, results)


def _load_keypoint_results(coco_gt: Any, results: list[dict[str, Any]]) -> Any:
    """``loadRes`` of keypoint results with each result's box and area (the extent of its keypoints) computed over
    all results of one length at once: the same numbers as loadRes's per-result ``np.min`` / ``np.max``."""
    lengths = {len(r["keypoints"]) for r in results}
    if 0 in lengths or any(n % 3 for n in lengths):
        return coco_gt.loadRes(results)  # its own error for what it cannot read
    for n in lengths:
        rows = [j for j, r in enumerate(results) if len(r["keypoints"]) == n]
        kp = np.array([results[j]["keypoints"] for j in rows])
        x0, x1 = kp[:, 0::3].min(1), kp[:, 0::3].max(1)
        y0, y1 = kp[:, 1::3].min(1), kp[:, 1::3].max(1)
        area = (x1 - x0) * (y1 - y0)
        for i, j in enumerate(rows):
            r = results[j]
            r["area"] = area[i]
            r["id"] = j + 1
            r["bbox"] = [x0[i], y0[i], x1[i] - x0[i], y1[i] - y0[i]]
    return _results_coco(coco_gt, results)


def _results_coco(coco_gt: Any, results: list[dict[str, Any]]) -> Any:
    """The COCO object loadRes returns for ``results`` whose ``area``, ``bbox`` and ``id`` are already set: the
    ground truth's info, images and categories, loadRes's check that every result names one of its images."""
    from pycocotools.coco import COCO

    ids = {r["image_id"] for r in results}
    assert ids == ids & set(coco_gt.getImgIds()), "Results do not correspond to current coco set"
    res = COCO()
    res.dataset["info"] = copy.deepcopy(coco_gt.dataset.get("info", {}))
    res.dataset["images"] = list(coco_gt.dataset["images"])
    res.dataset["categories"] = copy.deepcopy(coco_gt.dataset["categories"])
    res.dataset["annotations"] = results
    res.createIndex()
    return res


def coco_evaluate(gt: AnnotationSet, results: list[dict[str, Any]], iou_type: str = "bbox",
                  sigmas: Sequence[float] | None = None, source: str | Path = "results",
                  mask_area: bool = True) -> CocoScores:
    """Score ``results`` (a COCO results list, e.g. from :func:`~cvkit.vision.results.read_coco_results`) against
    ``gt`` as pycocotools' COCOeval does. ``sigmas``: OKS sigmas per keypoint (default: COCO's, for 17 keypoints).
    ``source`` names the results in errors (a result on an image the ground truth lacks). The caller's ``results``
    are not modified."""
    from pycocotools.coco import COCO

    from cvkit.metrics.cocoeval import FastCOCOeval

    dataset = coco_ground_truth(gt, iou_type)
    n_kp = len(gt.extra.get("keypoint_names") or [])
    _check_results(results, {im["id"] for im in dataset["images"]}, iou_type, n_kp, source)
    # loadRes and the evaluator add or replace top-level keys of each result and never change a nested value:
    # copying each dict leaves the caller's results untouched
    res = [dict(r) for r in results]
    if iou_type == "segm" and mask_area:
        for r in res:
            r.pop("bbox", None)
    if iou_type == "segm":
        polygons_to_rle(dataset)
    with _quiet():
        coco_gt = COCO()
        coco_gt.dataset = dataset
        coco_gt.createIndex()
        if res:
            coco_dt = load_results(coco_gt, res)
        else:
            coco_dt = COCO()
            coco_dt.dataset = {"info": {}, "images": list(dataset["images"]),
                               "categories": list(dataset["categories"]), "annotations": []}
            coco_dt.createIndex()
        ev = FastCOCOeval(coco_gt, coco_dt, iou_type)
        if iou_type == "keypoints":
            if sigmas is None and n_kp != 17:
                raise ValueError(f"{n_kp} keypoints: OKS sigmas are needed (COCO's are for 17)")
            if sigmas is not None:
                ev.params.kpt_oks_sigmas = np.asarray(sigmas, np.float64)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    names = KEYPOINT_STATS if iou_type == "keypoints" else BOX_STATS
    cat_ids = [int(c) for c in gt.category_ids] or list(range(1, len(gt.classes) + 1))
    return CocoScores(iou_type, {n: float(v) for n, v in zip(names, ev.stats, strict=True)}, ev, cat_ids,
                      list(gt.classes))
