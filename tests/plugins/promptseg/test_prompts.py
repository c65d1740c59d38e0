"""Simulated clicks: the first at the deepest interior point, the next at the deepest point of the larger error."""

from __future__ import annotations

import numpy as np
import pytest

from cvkit.errors import BadInput, UsageError
from cvkit_promptseg import predictor
from cvkit_promptseg import prompts as P


def square(h: int, w: int, y1: int, x1: int, y2: int, x2: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y1:y2, x1:x2] = True
    return m


def test_first_click_is_the_deepest_interior_point():
    m = square(40, 60, 10, 20, 21, 31)  # 11 x 11: centre pixel (25, 15)
    c = P.first_click(m)
    assert (c.x, c.y, c.label) == (25, 15, P.FOREGROUND)
    assert c.depth == pytest.approx(6.0)  # 6 pixels to the first pixel outside
    assert P.first_click(np.zeros((5, 5), bool)) is None


def test_image_edge_counts_as_border():
    m = square(20, 20, 0, 0, 20, 6)  # a strip along the left edge: its middle column, not column 0
    assert P.first_click(m).x in (2, 3)


def test_next_click_goes_to_the_larger_error():
    gt = square(50, 50, 10, 10, 40, 40)
    missed = gt.copy()
    missed[10:40, 25:40] = False  # half the object missed -> a foreground click in the missed half
    c = P.next_click(missed, gt)
    assert c.label == P.FOREGROUND and 25 <= c.x < 40 and 10 <= c.y < 40
    extra = gt | square(50, 50, 0, 0, 50, 8)  # an 8-px strip too many, deeper than nothing missed
    c = P.next_click(extra, gt)
    assert c.label == P.BACKGROUND and c.x < 8
    assert P.next_click(gt, gt) is None


def test_ignored_pixels_are_no_error():
    gt = square(30, 30, 5, 5, 25, 25)
    pred = gt.copy()
    pred[5:25, 5:8] = False
    ignore = np.zeros_like(gt)
    ignore[:, :10] = True
    assert P.next_click(pred, gt, ignore) is None
    assert P.next_click(pred, gt) is not None


def test_training_samples_stay_inside():
    rng = np.random.default_rng(0)
    gt = square(64, 64, 10, 20, 30, 50)
    for _ in range(20):
        x, y = P.random_point(gt, rng)
        assert gt[y, x]
        x1, y1, x2, y2 = P.jitter_box(P.mask_box(gt), (64, 64), rng)
        assert 0 <= x1 < x2 <= 64 and 0 <= y1 < y2 <= 64
        assert abs(x1 - 20) <= P.BOX_NOISE_MAX and abs(y2 - 30) <= P.BOX_NOISE_MAX
    assert P.mask_box(gt) == (20.0, 10.0, 50.0, 30.0)


def test_pack_pads_with_minus_one():
    coords, labels = P.pack([[(1, 2, 1)], [(3, 4, 2), (5, 6, 3)]])
    assert coords.shape == (2, 2, 2) and labels.tolist() == [[1, -1], [2, 3]]


def test_command_line_prompts():
    extra = {"point": ["10,20", "30,40,0"], "box": ["1,2,30,40", "5,5,9,9"]}
    got = predictor.command_line_prompts(extra)
    assert got == [{"points": [(10, 20, 1), (30, 40, 0)], "box": (1, 2, 30, 40)}, {"points": [], "box": (5, 5, 9, 9)}]
    for bad in ({"point": "10"}, {"point": "1,2,5"}, {"box": "1,2,3"}, {"box": "5,5,1,9"}, {"point": "a,b"}):
        with pytest.raises(UsageError):
            predictor.command_line_prompts(bad)


def test_points_file(tmp_path):
    f = tmp_path / "p.json"
    f.write_text('{"a.jpg": [{"points": [[3, 4]]}, {"box": [0, 0, 5, 5], "points": [[1, 1, 0]]}]}')
    shared, per_image = predictor.read_points_file(f)
    assert shared == [] and per_image["a.jpg"][1] == {"points": [(1.0, 1.0, 0)], "box": (0, 0, 5, 5)}
    assert len(predictor.prompts_for("/x/a.jpg", {}, (shared, per_image))) == 2
    f.write_text('[{"points": [[3]]}]')
    with pytest.raises(BadInput, match=r"p\.json \(\[0\]\)"):
        predictor.read_points_file(f)
    f.write_text('[{"points": [[3, 4]]}')
    with pytest.raises(BadInput, match="not JSON"):
        predictor.read_points_file(f)


def test_training_correction_at_the_evaluation_spot():
    gt = square(64, 64, 10, 20, 30, 50)
    pred = square(64, 64, 12, 20, 30, 50)  # two rows missed: a foreground correction there
    rng = np.random.default_rng(0)
    spot = P.next_click(pred, gt)
    for _ in range(10):
        assert P.random_correction(pred, gt, rng, at_spot=1.0) == spot
    uniform = [P.random_correction(pred, gt, rng, at_spot=0.0) for _ in range(20)]
    assert all(gt[c.y, c.x] and not pred[c.y, c.x] and c.label == P.FOREGROUND for c in uniform)
    assert len({(c.x, c.y) for c in uniform}) > 1
