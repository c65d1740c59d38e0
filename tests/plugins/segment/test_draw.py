"""Segmentation drawing: small pictures enlarged (nearest) with a legend of the classes shown, and validation
pictures that outline wrong pixels and are marked wrong under a mean IoU of 0.5."""

from __future__ import annotations

import numpy as np

from cvkit.task import DatasetInfo
from cvkit_segment import draw
from cvkit_segment.palette import colour_of

INFO = DatasetInfo("d", "voc", "voc:d", "val", ["background", "cat", "dog"])


def test_legend_names_the_classes_shown(task):
    labels = np.zeros((64, 64), np.uint8)
    labels[:32] = 2
    out = task.draw(np.zeros((64, 64, 3), np.uint8), {"labels": labels}, INFO)
    assert out.shape[0] == 256 and out.shape[1] > 256  # 4x, then the legend panel
    panel = out[:, 256:]
    assert np.all(panel == colour_of(2), axis=-1).sum() > 30  # the dog's swatch
    assert not np.all(panel == colour_of(1), axis=-1).any()  # no cat shown, no cat listed
    assert [n for n, _ in draw.entries(labels, INFO.classes)] == ["dog"]


def test_validation_picture(task, tmp_path):
    from cvkit.vision.masks import encode_label_png

    truth = np.zeros((64, 64), np.uint8)
    truth[:32] = 1
    img = np.zeros((64, 64, 3), np.uint8)
    (tmp_path / "t.png").write_bytes(encode_label_png(truth))
    target = {"kind": "png", "file": str(tmp_path / "t.png")}
    good = task.validation_picture(img, {"labels": truth}, target, INFO)
    pred = truth.copy()
    pred[:32] = 2  # the right region, the wrong class
    bad = task.validation_picture(img, {"labels": pred}, target, INFO)
    assert not good.wrong and good.note == "mIoU 1.00"
    assert bad.wrong and bad.note == "mIoU 0.33"
    outline = np.all(bad.prediction == (230, 30, 30), axis=-1)
    assert outline[:128, :256].any() and not outline[140:, :256].any()
    assert draw.mean_iou(pred, truth) == 1 / 3
