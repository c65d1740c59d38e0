"""The segmentation metric against scikit-learn on the same pixels (randomised, with void)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, jaccard_score

from cvkit.errors import BadInput
from cvkit.task import DatasetInfo
from cvkit_segment.datasets.target import png_target
from cvkit_segment.metrics.confusion import confusion, scores
from cvkit_segment.metrics.evaluator import SegmentationEvaluator
from cvkit_segment.palette import voc_colormap


def write_png(path, labels):
    img = Image.frombytes("P", labels.shape[::-1], labels.astype(np.uint8).tobytes())
    img.putpalette(voc_colormap().ravel().tolist())
    img.save(path)
    return png_target(path)


def random_split(rng, n_classes, n_images, void=0.1, absent=()):
    gts, preds = [], []
    for _ in range(n_images):
        h, w = rng.integers(5, 40, 2)
        classes = [c for c in range(n_classes) if c not in absent]
        gt = rng.choice(classes, (h, w)).astype(np.uint8)
        gt[rng.random((h, w)) < void] = 255
        pred = np.where(rng.random((h, w)) < 0.6, np.where(gt == 255, 0, gt), rng.integers(0, n_classes, (h, w)))
        gts.append(gt)
        preds.append(pred.astype(np.uint8))
    return gts, preds


def reference(gts, preds, n_classes):
    """scikit-learn on the non-void pixels of the whole split."""
    g = np.concatenate([x.ravel() for x in gts]).astype(int)
    p = np.concatenate([x.ravel() for x in preds]).astype(int)
    keep = g != 255
    g, p = g[keep], p[keep]
    present = sorted(set(g) | set(p))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "matrix": confusion_matrix(g, p, labels=list(range(n_classes))),
            "mIoU": float(np.mean(jaccard_score(g, p, labels=present, average=None))),
            "pixel_acc": accuracy_score(g, p),
            "mean_acc": balanced_accuracy_score(g, p),
        }


@pytest.mark.parametrize("seed", range(6))
def test_evaluator_matches_sklearn(tmp_path, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 9))
    absent = tuple(rng.choice(n, int(rng.integers(0, n // 2 + 1)), replace=False)) if seed % 2 else ()
    gts, preds = random_split(rng, n, int(rng.integers(1, 6)), void=float(rng.uniform(0, 0.4)), absent=absent)
    info = DatasetInfo("t", "voc", "voc:t", "val", [f"c{k}" for k in range(n)])
    ev = SegmentationEvaluator(info)
    targets = [write_png(tmp_path / f"{i}.png", g) for i, g in enumerate(gts)]
    ev.update(range(len(gts)), [{"labels": p} for p in preds], targets)
    got = ev.compute()
    ref = reference(gts, preds, n)
    np.testing.assert_array_equal(np.asarray(ev.details()["confusion_matrix"]), ref["matrix"])
    for key in ("mIoU", "pixel_acc", "mean_acc"):
        assert got[key] == pytest.approx(ref[key], abs=1e-12), key


def test_absent_classes_are_left_out_and_false_positives_score_zero():
    gt = np.array([[0, 0, 1, 1]], np.uint8)
    pred = np.array([[0, 2, 1, 1]], np.uint8)  # class 2 predicted, absent from gt; class 3 nowhere
    metrics, iou, acc = scores(confusion(gt, pred, 4))
    assert np.isnan(iou[3]) and iou[2] == 0.0 and np.isnan(acc[2])
    assert metrics["mIoU"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert metrics["pixel_acc"] == 0.75 and metrics["mean_acc"] == pytest.approx(0.75)


def test_void_ignores_whatever_is_predicted_there():
    gt = np.array([[255, 255, 1]], np.uint8)
    assert confusion(gt, np.array([[7, 0, 1]]), 2).tolist() == [[0, 0], [0, 1]]
    with pytest.raises(ValueError, match="not a class index"):
        confusion(np.array([[1]], np.uint8), np.array([[5]]), 2)


def test_dataset_wide_not_mean_of_images(tmp_path):
    info = DatasetInfo("t", "voc", "voc:t", "val", ["a", "b"])
    big = np.zeros((10, 10), np.uint8)
    small = np.ones((1, 1), np.uint8)
    ev = SegmentationEvaluator(info)
    ev.update([0, 1], [{"labels": big}, {"labels": np.zeros((1, 1), np.uint8)}],
              [write_png(tmp_path / "a.png", big), write_png(tmp_path / "b.png", small)])
    assert ev.compute()["pixel_acc"] == pytest.approx(100 / 101)


def test_state_merge_and_missing_prediction(tmp_path):
    rng = np.random.default_rng(3)
    gts, preds = random_split(rng, 3, 4)
    info = DatasetInfo("t", "voc", "voc:t", "val", ["a", "b", "c"])
    targets = [write_png(tmp_path / f"{i}.png", g) for i, g in enumerate(gts)]
    whole, a, b = (SegmentationEvaluator(info) for _ in range(3))
    whole.update(range(4), [{"labels": p} for p in preds], targets)
    a.update([0, 1], [{"labels": p} for p in preds[:2]], targets[:2])
    b.update([2, 3], [{"labels": p} for p in preds[2:]], targets[2:])
    merged = SegmentationEvaluator(info)
    merged.merge([a.state(), b.state()])
    assert merged.compute() == whole.compute()
    none = SegmentationEvaluator(info)
    none.update([0], [{"labels": None}], targets[:1])  # no prediction: background everywhere
    ref = reference(gts[:1], [np.zeros_like(gts[0])], 3)
    assert none.compute()["pixel_acc"] == pytest.approx(ref["pixel_acc"], abs=1e-12)


def test_size_mismatch_names_the_annotation(tmp_path):
    info = DatasetInfo("t", "voc", "voc:t", "val", ["a", "b"])
    t = write_png(tmp_path / "x.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(BadInput, match="x.png"):
        SegmentationEvaluator(info).update([0], [{"labels": np.zeros((4, 5), np.uint8)}], [t])
