"""pycocotools' ``COCOeval`` with its per-image matching and its accumulation vectorised, results unchanged bit for bit.

``FastCOCOeval`` is a drop-in subclass: same constructor, same ``params``, and after ``evaluate()`` /
``accumulate()`` / ``summarize()`` the same ``ious``, ``evalImgs`` (dicts with equal ids, scores and match / ignore
arrays, ``None`` where an image and category hold nothing), ``eval`` arrays and ``stats``, compared with ``==``.

How it stays exact while doing less work in Python:

- IoU comes from ``pycocotools.mask.iou`` (boxes, masks) and OKS from the reference formula evaluated with the same
  numpy operations, vectorised over detections.
- pycocotools' greedy matching gives each detection, in score order, the still-free ground truth of highest IoU
  (at least the threshold; on a tie the later one), trying regular ground truth before ignored ones and letting crowd
  regions match again and again. Here every (image, category, area range) group and all IoU thresholds advance
  together, one detection rank at a time: a segmented maximum over the groups' ground truth replaces the inner loops.
- ``accumulate`` sorts each category's detections once for all area ranges, takes running sums per segment and the
  right-to-left precision envelope with ``np.maximum.accumulate``; every float is produced by the same IEEE
  operation, on the same operands, as in pycocotools.

Progress goes to the ``logging`` module, not to stdout; ``summarize`` is pycocotools' own and prints its table.
Differences that no result depends on: ground-truth dicts get no transient ``_ignore`` key, the ``_gts`` / ``_dts``
defaultdicts get no empty entries, and ``evalImgs`` arrays are views into shared arrays. An IoU / OKS of NaN (only
from NaN keypoints) makes ``evaluate`` and ``accumulate`` run pycocotools' own loops, whose comparisons it changes.
"""

from __future__ import annotations

import copy
import datetime
import gc
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.cocoeval import COCOeval

log = logging.getLogger(__name__)


@dataclass
class _Layout:
    """Flat per-detection results kept by ``evaluate`` for ``accumulate``."""

    eval_imgs: list
    n_dets: int  # N: detections over all (image, category) cells, after the maxDets cut
    dtm: np.ndarray  # (T, A*N) matched ground-truth id, column a*N + j
    dtig: np.ndarray  # (T, A*N) bool
    dt_k: np.ndarray  # (N,) category index
    dt_i: np.ndarray  # (N,) image index
    dt_rank: np.ndarray  # (N,) rank by score in its cell
    dt_score: np.ndarray  # (N,) float64
    npig: np.ndarray  # (K, A) regular (not ignored) ground truth


def _oks(gts: list[dict], dts: list[dict], sigmas: np.ndarray) -> np.ndarray:
    """pycocotools' ``computeOks`` for one (image, category), vectorised over detections, same float operations."""
    variances = (sigmas * 2) ** 2
    k = len(sigmas)
    d = np.array([dt["keypoints"] for dt in dts])
    xd, yd = d[:, 0::3], d[:, 1::3]
    ious = np.zeros((len(dts), len(gts)))
    for j, gt in enumerate(gts):
        g = np.array(gt["keypoints"])
        xg, yg, vg = g[0::3], g[1::3], g[2::3]
        k1 = np.count_nonzero(vg > 0)
        bb = gt["bbox"]
        x0, x1 = bb[0] - bb[2], bb[0] + bb[2] * 2
        y0, y1 = bb[1] - bb[3], bb[1] + bb[3] * 2
        if k1 > 0:
            dx, dy = xd - xg, yd - yg
        else:
            z = np.zeros(k)
            dx = np.maximum(z, x0 - xd) + np.maximum(z, xd - x1)
            dy = np.maximum(z, y0 - yd) + np.maximum(z, yd - y1)
        e = (dx**2 + dy**2) / variances / (gt["area"] + np.spacing(1)) / 2
        if k1 > 0:
            e = e[:, vg > 0]
        # one C-contiguous row per detection: numpy then sums each row exactly as it sums pycocotools' 1-d array
        ious[:, j] = np.sum(np.ascontiguousarray(np.exp(-e)), axis=1) / e.shape[1]
    return ious


def _segmented_last_max(vals: np.ndarray, starts: np.ndarray, slot_group: np.ndarray, pos: np.ndarray):
    """Per row and segment: the maximum, and the last position holding it."""
    top = np.maximum.reduceat(vals, starts, axis=1)
    last = np.maximum.reduceat(np.where(vals == top[:, slot_group], pos, -1), starts, axis=1)
    return top, last


def _match(thr: np.ndarray, A: int, n_dt: np.ndarray, n_gt: np.ndarray, gt_start: np.ndarray,
           dt_start: np.ndarray, iou_flat: np.ndarray, slots: tuple, dt_id: np.ndarray,
           dtm: np.ndarray, dtig: np.ndarray, gtm: np.ndarray) -> None:
    """pycocotools' greedy matching for all (cell, area range) groups and thresholds at once, rank by rank.

    Cells are ordered by detection count descending, so the groups still matching at rank r (and their slots) are
    prefixes. A detection takes the last slot of maximal IoU (>= the threshold) among free regular ground truth; only
    if there is none, among free ignored ground truth. Crowd regions stay free."""
    slot_group, slot_iou, slot_stride, slot_crowd, slot_ig, slot_id = slots
    n_all = dtm.shape[1] // A
    regular, ignored = slot_ig == 0, slot_ig != 0
    cells = np.arange(len(n_dt))
    group_start = (A * gt_start[:-1][cells, None] + np.arange(A) * n_gt[cells, None]).ravel()
    group_dt = np.repeat(dt_start[cells], A)
    group_col = group_dt + np.tile(np.arange(A) * n_all, len(cells))
    pos = np.arange(len(slot_ig))
    thr = thr[:, None]
    for r in range(int(n_dt[0])):
        n = int(np.count_nonzero(n_dt > r))
        ns, ng = int(A * gt_start[n]), n * A
        starts, sg = group_start[:ng], slot_group[:ns]
        v = iou_flat[slot_iou[:ns] + r * slot_stride[:ns]]
        free = (gtm[:, :ns] <= 0) | slot_crowd[:ns]
        best = np.full((len(thr), ng), -1)
        todo = np.ones((len(thr), ng), dtype=bool)
        for phase in (regular[:ns], ignored[:ns]):
            top, last = _segmented_last_max(np.where(free & phase, v, -np.inf), starts, sg, pos[:ns])
            ok = todo & (top >= thr)
            best[ok] = last[ok]
            todo &= ~ok
        t, g = np.nonzero(best >= 0)
        s, col = best[t, g], group_col[g] + r
        gtm[t, s] = dt_id[group_dt[g] + r]
        dtm[t, col] = slot_id[s]
        dtig[t, col] = slot_ig[s] != 0


class FastCOCOeval(COCOeval):
    """``pycocotools.cocoeval.COCOeval`` with vectorised ``evaluate`` and ``accumulate`` and identical results."""

    def __init__(self, cocoGt: Any = None, cocoDt: Any = None, iouType: str = "segm") -> None:
        super().__init__(cocoGt, cocoDt, iouType)
        self._layout: _Layout | None = None

    # ------------------------------------------------------------------ loading
    def _prepare(self) -> None:
        """pycocotools' ``_prepare`` (same annotations, order, RLE conversion, ignore flags), with set lookups."""
        p = self.params
        cats = set(p.catIds) if p.useCats else set()

        def load(coco: Any) -> list[dict]:
            if len(p.imgIds) == 0 and len(cats) == 0:
                anns = coco.dataset["annotations"]
            else:
                if len(p.imgIds):
                    anns = [a for img in p.imgIds if img in coco.imgToAnns for a in coco.imgToAnns[img]]
                else:
                    anns = coco.dataset["annotations"]
                if cats:
                    anns = [a for a in anns if a["category_id"] in cats]
            return [coco.anns[a["id"]] for a in anns]

        gts, dts = load(self.cocoGt), load(self.cocoDt)
        if p.iouType == "segm":
            for anns, coco in ((gts, self.cocoGt), (dts, self.cocoDt)):
                for ann in anns:
                    ann["segmentation"] = coco.annToRLE(ann)
        for gt in gts:
            gt["ignore"] = "iscrowd" in gt and gt["iscrowd"]
            if p.iouType == "keypoints":
                gt["ignore"] = (gt["num_keypoints"] == 0) or gt["ignore"]
        self._gts, self._dts = defaultdict(list), defaultdict(list)
        for gt in gts:
            self._gts[gt["image_id"], gt["category_id"]].append(gt)
        for dt in dts:
            self._dts[dt["image_id"], dt["category_id"]].append(dt)
        self.evalImgs = defaultdict(list)
        self.eval = {}

    def _cells(self, cat_ids: list) -> list[tuple[int, int, list, list]]:
        """(category index, image index, ground truth, detections) of every non-empty evaluation cell."""
        p = self.params
        img_index = {img: i for i, img in enumerate(p.imgIds)}
        out = []
        if p.useCats:
            cat_index = {c: k for k, c in enumerate(cat_ids)}
            for key in set(self._gts) | set(self._dts):
                i, k = img_index.get(key[0]), cat_index.get(key[1])
                gts, dts = self._gts.get(key, []), self._dts.get(key, [])
                if i is not None and k is not None and (gts or dts):
                    out.append((k, i, gts, dts))
        else:
            for i, img in enumerate(p.imgIds):
                gts = [g for c in p.catIds for g in self._gts.get((img, c), ())]
                dts = [d for c in p.catIds for d in self._dts.get((img, c), ())]
                if gts or dts:
                    out.append((0, i, gts, dts))
        out.sort(key=lambda c: (c[0], c[1]))
        return out

    # ------------------------------------------------------------------ evaluate
    def evaluate(self) -> None:
        """Per image and category evaluation into ``self.ious`` and ``self.evalImgs``, as pycocotools computes it."""
        # Tens of thousands of small dicts and lists are made here and none forms a cycle: the cyclic garbage
        # collector would only rescan the whole dataset again and again (about 40% of the time).
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._evaluate()
        finally:
            if enabled:
                gc.enable()

    def _evaluate(self) -> None:
        tic = time.perf_counter()
        p = self.params
        if p.useSegm is not None:
            p.iouType = "segm" if p.useSegm == 1 else "bbox"
        p.imgIds = list(np.unique(p.imgIds))
        if p.useCats:
            p.catIds = list(np.unique(p.catIds))
        p.maxDets = sorted(p.maxDets)
        self.params = p
        self._prepare()
        cat_ids = p.catIds if p.useCats else [-1]
        n_img, n_area, max_det = len(p.imgIds), len(p.areaRng), p.maxDets[-1]
        T = len(p.iouThrs)
        cells = self._cells(cat_ids)
        kp = p.iouType == "keypoints"

        # Cell order: those that need matching first, by detection count descending, so that the cells still
        # matching at detection rank r are a prefix.
        n_gt = np.array([len(c[2]) for c in cells], dtype=np.int64)
        n_dt = np.array([min(len(c[3]), max_det) for c in cells], dtype=np.int64)
        matched = (n_gt > 0) & (n_dt > 0) & (bool(p.useCats) or not kp)  # OKS without categories is always []
        order = np.lexsort((-n_dt, ~matched))
        cells = [cells[c] for c in order]
        n_gt, n_dt, matched = n_gt[order], n_dt[order], matched[order]
        n_match = int(matched.sum())

        gts = [g for c in cells for g in c[2]]
        raw_dts = [d for c in cells for d in c[3]]
        cell_of_raw = np.repeat(np.arange(len(cells)), [len(c[3]) for c in cells])
        raw_scores = np.array([d["score"] for d in raw_dts], dtype=np.float64)
        by_score = np.lexsort((-raw_scores, cell_of_raw))  # stable: pycocotools' mergesort per cell
        raw_start = np.concatenate(([0], np.cumsum([len(c[3]) for c in cells])))[:-1]
        rank = np.arange(len(raw_dts)) - raw_start[cell_of_raw[by_score]]
        keep = by_score[rank < max_det]
        dts = [raw_dts[j] for j in keep]
        dt_rank = rank[rank < max_det]
        dt_cell = cell_of_raw[keep]
        gt_start = np.concatenate(([0], np.cumsum(n_gt))).astype(np.int64)
        dt_start = np.concatenate(([0], np.cumsum(n_dt))).astype(np.int64)
        n_all = len(dts)

        # IoU / OKS per cell, exactly as pycocotools stores them.
        self.ious = {(img, cat): [] for img in p.imgIds for cat in cat_ids}
        gt_crowd = np.array([int(g["iscrowd"]) for g in gts], dtype=np.int64)
        boxes = p.iouType == "bbox"
        if boxes:
            gt_geom = np.array([g["bbox"] for g in gts], dtype=np.float64).reshape(-1, 4)
            dt_geom = np.array([d["bbox"] for d in dts], dtype=np.float64).reshape(-1, 4)
        flat = []
        for c in range(n_match):
            g0, g1, d0, d1 = gt_start[c], gt_start[c + 1], dt_start[c], dt_start[c + 1]
            if kp:
                iou = _oks(gts[g0:g1], dts[d0:d1], p.kpt_oks_sigmas)
            elif boxes:
                iou = mask_utils.iou(dt_geom[d0:d1], gt_geom[g0:g1], gt_crowd[g0:g1].tolist())
            else:
                iou = mask_utils.iou([d["segmentation"] for d in dts[d0:d1]],
                                     [g["segmentation"] for g in gts[g0:g1]], gt_crowd[g0:g1].tolist())
            k, i = cells[c][0], cells[c][1]
            self.ious[p.imgIds[i], cat_ids[k]] = iou
            flat.append(np.ravel(iou))
        iou_flat = np.concatenate(flat) if flat else np.zeros(0)
        if np.isnan(iou_flat).any():  # NaN changes the reference's comparisons; keep its own loops then
            log.debug("NaN in IoU: falling back to the reference evaluation")
            self._layout = None
            super().evaluate()
            return

        # Ground-truth slots: for each cell and area range, its ground truth with ignored ones last (stable).
        A = n_area
        gt_cell = np.repeat(np.arange(len(cells)), n_gt)
        gt_area = np.array([g["area"] for g in gts], dtype=np.float64)
        gt_ign = np.array([bool(g["ignore"]) for g in gts], dtype=bool)
        gt_local = np.arange(len(gts)) - gt_start[gt_cell]
        n_slots = A * len(gts)
        slot_gt, slot_ig, slot_a = (np.zeros(n_slots, dtype=np.int64) for _ in range(3))
        for a, (lo, hi) in enumerate(p.areaRng):
            ign = (gt_ign | (gt_area < lo) | (gt_area > hi)).astype(np.int64)
            srt = np.lexsort((ign, gt_cell))
            slot = A * gt_start[gt_cell] + a * n_gt[gt_cell] + gt_local
            slot_gt[slot], slot_ig[slot], slot_a[slot] = srt, ign[srt], a
        gt_ids = [g["id"] for g in gts]
        slot_ids = [gt_ids[j] for j in slot_gt.tolist()]
        iou_start = np.concatenate(([0], np.cumsum(n_dt[:n_match] * n_gt[:n_match]))).astype(np.int64)
        iou_start = np.concatenate((iou_start[:-1], np.zeros(len(cells) - n_match, dtype=np.int64)))

        dt_id = np.array([d["id"] for d in dts], dtype=np.float64)
        dtm = np.zeros((T, A * n_all))
        dtig = np.zeros((T, A * n_all), dtype=bool)
        gtm = np.zeros((T, n_slots))
        slot_cell = gt_cell[slot_gt]
        if n_match:
            slots = (slot_cell * A + slot_a, iou_start[slot_cell] + gt_local[slot_gt], n_gt[slot_cell],
                     gt_crowd[slot_gt] != 0, slot_ig, np.array(slot_ids, dtype=np.float64))
            _match(np.minimum(p.iouThrs, 1 - 1e-10), A, n_dt[:n_match], n_gt[:n_match], gt_start, dt_start,
                   iou_flat, slots, dt_id, dtm, dtig, gtm)
        dt_area = np.array([d["area"] for d in dts], dtype=np.float64)
        for a, (lo, hi) in enumerate(p.areaRng):
            cols = slice(a * n_all, (a + 1) * n_all)
            dtig[:, cols] |= (dtm[:, cols] == 0) & ((dt_area < lo) | (dt_area > hi))

        # evalImgs in pycocotools' order (category, area range, image), None for empty cells.
        self.evalImgs = [None] * (len(cat_ids) * A * n_img)
        dt_ids = [d["id"] for d in dts]
        dt_scores = [d["score"] for d in dts]
        views = [(rng, dtm[:, a * n_all:(a + 1) * n_all], dtig[:, a * n_all:(a + 1) * n_all])
                 for a, rng in enumerate(p.areaRng)]
        spans = zip(cells, dt_start[:-1].tolist(), n_dt.tolist(), gt_start[:-1].tolist(), n_gt.tolist(), strict=True)
        for c, d0, nd, g0, ng in spans:
            img, cat, d1, s0 = p.imgIds[c[1]], cat_ids[c[0]], d0 + nd, A * g0
            at = c[0] * A * n_img + c[1]
            for rng, dtm_a, dtig_a in views:
                s1 = s0 + ng
                self.evalImgs[at] = {
                    "image_id": img, "category_id": cat, "aRng": rng, "maxDet": max_det,
                    "dtIds": dt_ids[d0:d1], "gtIds": slot_ids[s0:s1], "dtMatches": dtm_a[:, d0:d1],
                    "gtMatches": gtm[:, s0:s1], "dtScores": dt_scores[d0:d1],
                    "gtIgnore": slot_ig[s0:s1] if ng else np.array([]), "dtIgnore": dtig_a[:, d0:d1],
                }
                s0, at = s1, at + n_img
        self._paramsEval = copy.deepcopy(self.params)
        slot_k = np.array([c[0] for c in cells], dtype=np.int64)[slot_cell]
        regular = slot_ig == 0
        npig = np.bincount(slot_k[regular] * A + slot_a[regular], minlength=len(cat_ids) * A)
        self._layout = _Layout(
            eval_imgs=self.evalImgs, n_dets=n_all, dtm=dtm, dtig=dtig,
            dt_k=np.array([c[0] for c in cells], dtype=np.int64)[dt_cell] if n_all else np.zeros(0, np.int64),
            dt_i=np.array([c[1] for c in cells], dtype=np.int64)[dt_cell] if n_all else np.zeros(0, np.int64),
            dt_rank=dt_rank, dt_score=np.array(dt_scores, dtype=np.float64), npig=npig.reshape(len(cat_ids), A))
        log.debug("evaluate: %d cells in %.3fs", len(cells), time.perf_counter() - tic)

    # ------------------------------------------------------------------ accumulate
    def _same_layout(self, p: Any) -> bool:
        pe = self._paramsEval
        cats = pe.catIds if pe.useCats else [-1]
        return (p.useCats in (0, 1) and p.useCats == pe.useCats and list(p.catIds) == list(cats)
                and list(p.imgIds) == list(pe.imgIds) and len(p.iouThrs) == len(pe.iouThrs)
                and [tuple(a) for a in p.areaRng] == [tuple(a) for a in pe.areaRng])

    def accumulate(self, p: Any = None) -> None:
        """Precision / recall / score arrays into ``self.eval``, equal to pycocotools' to the last bit."""
        tic = time.perf_counter()
        if p is None:
            p = self.params
        p.catIds = p.catIds if p.useCats == 1 else [-1]
        lay = self._layout
        if lay is None or lay.eval_imgs is not self.evalImgs or not self._same_layout(p):
            return super().accumulate(p)
        T, R, A, M = len(p.iouThrs), len(p.recThrs), len(p.areaRng), len(p.maxDets)
        K = len(p.catIds) if p.useCats else 1
        precision, recall, scores = -np.ones((T, R, K, A, M)), -np.ones((T, K, A, M)), -np.ones((T, R, K, A, M))
        set_m = set(self._paramsEval.maxDets)
        m_list = [m for m in p.maxDets if m in set_m]
        # pycocotools concatenates a category's images in order, then sorts by score with mergesort (stable).
        base = np.lexsort((lay.dt_rank, lay.dt_i, -lay.dt_score, lay.dt_k))
        rec_thrs = np.asarray(p.recThrs)
        for m, max_det in enumerate(m_list):
            sel = base[lay.dt_rank[base] < max_det]
            bounds = np.searchsorted(lay.dt_k[sel], np.arange(K + 1))
            sel_scores = lay.dt_score[sel]
            for a in range(A):
                cols = a * lay.n_dets + sel
                dtm, ig = lay.dtm[:, cols], lay.dtig[:, cols]
                tp_run = np.cumsum((dtm != 0) & ~ig, axis=1)
                fp_run = np.cumsum((dtm == 0) & ~ig, axis=1)
                for k in range(K):
                    npig = int(lay.npig[k, a])
                    if npig == 0:
                        continue
                    s, e = bounds[k], bounds[k + 1]
                    if s == e:
                        recall[:, k, a, m] = 0
                        precision[:, :, k, a, m] = scores[:, :, k, a, m] = 0
                        continue
                    tp, fp = tp_run[:, s:e], fp_run[:, s:e]
                    if s:
                        tp, fp = tp - tp_run[:, s - 1:s], fp - fp_run[:, s - 1:s]
                    tp, fp = tp.astype(float), fp.astype(float)
                    rc = tp / npig
                    pr = tp / (fp + tp + np.spacing(1))
                    recall[:, k, a, m] = rc[:, -1]
                    pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
                    inds = np.stack([np.searchsorted(row, rec_thrs, side="left") for row in rc])
                    found = inds < e - s
                    inds = np.minimum(inds, e - s - 1)
                    precision[:, :, k, a, m] = np.where(found, np.take_along_axis(pr, inds, axis=1), 0)
                    scores[:, :, k, a, m] = np.where(found, sel_scores[s:e][inds], 0)
        self.eval = {
            "params": p, "counts": [T, R, K, A, M], "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "precision": precision, "recall": recall, "scores": scores,
        }
        log.debug("accumulate: %.3fs", time.perf_counter() - tic)
