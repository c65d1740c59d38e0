"""The shared drawing helpers: which detections are drawn (threshold, cap, order), small pictures enlarged, widths
that scale, legends, the ground-truth comparison of validation pictures, gallery layout and confidence curves."""

from __future__ import annotations

import numpy as np
import pytest

from cvkit.contract import PredictOptions
from cvkit.engine.visualize import tile
from cvkit.vision import draw
from cvkit.vision.detections import make_target
from cvkit.vision.evaluate import confidence_curve


def _is_wrong(pixels: np.ndarray) -> np.ndarray:
    return np.all(pixels == np.array(draw.WRONG, np.uint8), axis=-1)


def test_pick_drawn_threshold_cap_and_order():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.05, 1.0, 100)
    picked = draw.pick_drawn(scores)
    assert len(picked) == min(draw.MAX_DRAWN, int((scores >= draw.DRAW_CONF).sum()))
    assert np.all(np.diff(scores[picked]) <= 0) and scores[picked].min() >= draw.DRAW_CONF
    assert scores[picked].min() >= np.sort(scores)[::-1][len(picked) - 1]  # the best ones, not any
    assert len(draw.pick_drawn(scores, 0.0, 7)) == 7 and len(draw.pick_drawn(scores, 1.01)) == 0
    assert draw.draw_limits(None) == (draw.DRAW_CONF, draw.MAX_DRAWN)
    assert draw.draw_limits(PredictOptions(conf=0.6, extra={"max_drawn": "3"})) == (0.6, 3)


def test_low_scores_are_not_drawn_and_small_pictures_are_enlarged():
    img = np.zeros((64, 64, 3), np.uint8)
    boxes = np.tile([[8.0, 8.0, 40.0, 40.0]], (90, 1))
    low = {"boxes": boxes, "scores": np.full(90, 0.1), "labels": np.zeros(90, int)}
    out = draw.draw_detections(img, low, ["a"])
    assert out.shape == (256, 256, 3) and not out.any()  # 4x, nothing scores 0.3
    assert draw.draw_detections(img, low, ["a"], conf=0.05).any()
    big, k = draw.enlarge(np.arange(64 * 64 * 3, dtype=np.uint8).reshape(64, 64, 3))
    assert k == 4 and big.shape == (256, 256, 3) and (big[::4, ::4] == big[3::4, 3::4]).all()  # nearest
    assert draw.enlarge(np.zeros((300, 500, 3), np.uint8))[1] == 1
    assert draw.line_width(np.zeros((256, 256, 3))) < draw.line_width(np.zeros((2000, 2000, 3)))
    assert draw.text_style(np.zeros((256, 256, 3)))[0] < draw.text_style(np.zeros((2000, 2000, 3)))[0]


def test_drawn_box_count():
    img = np.full((512, 512, 3), 255, np.uint8)
    boxes = np.array([[100.0, 5 + 100 * i, 160, 65 + 100 * i] for i in range(5)])
    p = {"boxes": boxes, "scores": np.array([0.9, 0.8, 0.29, 0.5, 0.1]), "labels": np.arange(5)}

    def drawn(out: np.ndarray) -> list[bool]:  # the left edge of each box, below where its label sits
        return [bool((out[int(b[1]) + 45, int(b[0])] != 255).any()) for b in boxes]

    assert drawn(draw.draw_detections(img, p, list("01234"))) == [True, True, False, True, False]
    assert drawn(draw.draw_detections(img, p, list("01234"), conf=0.0, limit=2)) == [True, True, False, False, False]
    assert drawn(draw.draw_detections(img, p, list("01234"), conf=0.0)) == [True] * 5


def test_legend_lists_the_classes_with_swatches():
    img = np.zeros((100, 120, 3), np.uint8)
    out = draw.legend(img, [("cat", (255, 0, 0)), ("dog", (0, 0, 255))])
    assert out.shape[0] == 100 and out.shape[1] > 150 and (out[:, :120] == 0).all()
    panel = out[:, 120:]
    assert np.all(panel == [255, 0, 0], axis=-1).sum() > 20 and np.all(panel == [0, 0, 255], axis=-1).sum() > 20
    assert draw.legend(img, []) is img
    tall = draw.legend(np.zeros((20, 20, 3), np.uint8), [(str(i), draw.colour(i)) for i in range(10)])
    assert tall.shape[0] > 20  # grows downwards for a long list


def test_class_colours_are_never_the_mistake_red():
    for k in range(200):
        r, g, b = draw.colour(k)
        assert not (r > 200 and g < 90 and b < 90), k


def test_compare_boxes_marks_missed_objects_and_false_positives():
    img = np.zeros((256, 256, 3), np.uint8)
    t = make_target([[10, 10, 60, 60], [100, 100, 150, 150], [200, 200, 250, 250]], [0, 1, 0], (256, 256),
                    difficult=[False, False, True])
    p = {"boxes": np.array([[12, 12, 60, 60], [100, 100, 150, 150], [200, 10, 250, 60], [201, 201, 250, 250.0]]),
         "scores": np.array([0.9, 0.8, 0.7, 0.6]), "labels": np.array([0, 0, 1, 0])}
    truth, pred, missed, false = draw.compare_boxes(img, p, t, ["a", "b"])
    assert (missed, false) == (1, 2)  # object 1 found by nobody (wrong class); the crowd region absorbs one
    assert _is_wrong(truth[100:150, 98:103]).any() and not _is_wrong(truth[10:60, 8:13]).any()
    assert _is_wrong(pred[10:60, 198:203]).any() and not _is_wrong(pred[10:60, 8:13]).any()
    matched, found = draw.match_boxes(p["boxes"], p["labels"], p["scores"], t["boxes"], t["labels"],
                                      np.array([False, False, True]))
    assert matched.tolist() == [True, False, False, True] and found.tolist() == [True, False, False]


def test_gallery_cells_keep_the_pictures_shape():
    strips = [np.full((124, 768, 3), 200, np.uint8) for _ in range(16)]  # video contact sheets
    grid = tile(strips)
    filled = (grid == 200).all(-1).mean()
    assert filled > 0.85 and grid.shape[1] >= 768  # not a 768x124 strip squeezed into the top of a square
    squares = tile([np.full((64, 64, 3), 200, np.uint8)] * 4)
    assert squares.shape[0] == squares.shape[1] and (squares == 200).all(-1).mean() > 0.9


def test_confidence_curve_by_hand():
    scores = np.array([0.9, 0.8, 0.6, 0.4])  # tp, fp, tp, fp; 3 objects
    tp = np.cumsum([1, 0, 1, 0])
    fp = np.cumsum([0, 1, 0, 1])
    c = confidence_curve(scores, tp / (tp + fp), tp / 3, points=11)
    assert c["precision"][5] == pytest.approx(2 / 3) and c["recall"][5] == pytest.approx(2 / 3)  # >= 0.5
    assert c["precision"][9] == 1.0 and c["recall"][9] == pytest.approx(1 / 3)  # >= 0.9
    assert c["precision"][10] == 1.0 and c["recall"][10] == 0.0 and c["f1"][10] == 0.0  # nothing passes 1.0
    assert c["precision"][0] == 0.5 and c["f1"][0] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
