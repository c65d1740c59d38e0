"""Classification validation pictures: the true class beside the top predictions, titled in red when wrong."""

from __future__ import annotations

import numpy as np

from cvkit_classify.draw import compare

NAMES = ["cat", "dog", "fox"]


def _red_rows(img: np.ndarray) -> int:
    r, g, b = (img[..., i].astype(int) for i in range(3))
    return int(((r > 150) & (g < 100) & (b < 100)).any(1).sum())


def test_wrong_prediction_gets_a_red_title():
    img = np.full((32, 32, 3), 128, np.uint8)
    right = compare(img, {"topk": [(1, 0.7), (0, 0.2), (2, 0.1)]}, 1, NAMES)
    wrong = compare(img, {"topk": [(2, 0.6), (1, 0.3), (0, 0.1)]}, 1, NAMES)
    assert not right.wrong and right.note == "true dog" and _red_rows(right.prediction) == 0
    assert wrong.wrong and wrong.note == "true dog, predicted fox"
    assert _red_rows(wrong.prediction) > 20 and _red_rows(wrong.truth) == 0  # a band of text lines, in red
    assert right.truth.shape[0] >= 192  # enlarged so that the text reads
