"""Clip/video hit@k and multi-label mAP: hand-worked cases, and scikit-learn as the reference for AP."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from cvkit_video.metric import VideoEvaluator, average_precision
from cvkit_video.records import from_record, predictions, to_record

CLASSES = ["a", "b", "c", "d", "e", "f", "g"]


def pred(scores: list[float], clip_tops: list[int]) -> dict:
    s = np.array(scores, float)
    order = np.argsort(-s, kind="stable")[:5]
    return {"topk": [(int(c), float(s[c])) for c in order], "scores": list(s),
            "clips": [{"start": j, "topk": [(c, 1.0)]} for j, c in enumerate(clip_tops)]}


def test_hit_at_k_by_hand():
    ev = VideoEvaluator(CLASSES)
    # video 0: labels {1}; ranking 1 > 0 > ...: hit@1; clips 1, 1, 0 -> 2 of 3 clip hits
    ev.update([0], [pred([.3, .4, .1, .1, .05, .03, .02], [1, 1, 0])], [[1]])
    # video 1: labels {2, 6}; ranking 0 > 1 > 3 > 4 > 6 > 2: hit@5 through label 6 only; clips 2, 5 -> 1 of 2
    ev.update([1], [pred([.4, .3, .01, .12, .1, .0, .07], [2, 5])], [[2, 6]])
    # video 2: labels {5}; 5 ranked 6th: no hit; clip 3 -> 0 of 1
    ev.update([2], [pred([.2, .2, .2, .2, .15, .04, .01], [3])], [[5]])
    m = ev.compute()
    assert m["video_hit1"] == pytest.approx(1 / 3)
    assert m["video_hit5"] == pytest.approx(2 / 3)
    assert m["clip_hit1"] == pytest.approx(3 / 6)  # over all 6 clips, not a mean of per-video rates


def test_k_is_capped_at_the_class_count_and_empty_prediction_misses():
    ev = VideoEvaluator(["x", "y", "z"])
    ev.update([0, 1], [pred([.1, .2, .7], [2]), from_record({})], [[0], [0]])
    m = ev.compute()
    assert set(m) == {"clip_hit1", "video_hit1", "video_hit3", "mAP"}
    assert m["video_hit3"] == 0.5 and m["video_hit1"] == 0.0  # the empty prediction never hits
    assert m["clip_hit1"] == 0.0  # and counts as one missed clip


def test_average_precision_by_hand():
    # ranking: pos, neg, pos, neg -> AP = (1/2)*1 + (1/2)*(2/3)
    assert average_precision(np.array([1, 0, 1, 0]), np.array([.9, .8, .7, .1])) == pytest.approx(0.5 + 1 / 3)
    # a tie between a positive and a negative counts both at once: precision 1/2 at recall 1
    assert average_precision(np.array([0, 1]), np.array([.5, .5])) == pytest.approx(0.5)
    assert np.isnan(average_precision(np.array([0, 0]), np.array([.5, .1])))


@pytest.mark.parametrize("seed", range(5))
def test_map_matches_sklearn_on_multilabel_data(seed):
    rng = np.random.default_rng(seed)
    n, c = 60, len(CLASSES)
    y = (rng.random((n, c)) < 0.25).astype(int)
    y[np.arange(n), rng.integers(0, c, n)] = 1  # every video has a label
    y[:, 3] = 0  # a class absent from the ground truth is left out of the mean
    scores = np.round(rng.random((n, c)), 2)  # coarse: many ties
    scores[:5, 0] = scores[5, 0]  # and some exact ties across positives/negatives
    ev = VideoEvaluator(CLASSES)
    for i in range(n):
        ev.update([i], [pred(list(scores[i]), [0])], [list(np.nonzero(y[i])[0])])
    present = y.sum(0) > 0
    ref = average_precision_score(y[:, present], scores[:, present], average=None)
    ap = ev.per_class_ap()
    np.testing.assert_allclose(ap[present], ref, rtol=0, atol=1e-12)
    assert ev.compute()["mAP"] == pytest.approx(float(np.mean(ref)), abs=1e-12)
    assert ev.compute()["mAP"] == pytest.approx(average_precision_score(y[:, present], scores[:, present]), abs=1e-12)


def test_details_per_class_and_confusion():
    ev = VideoEvaluator(["x", "y", "z"])
    ev.update([0, 1, 2, 3], [pred([.8, .1, .1], [0]), pred([.6, .3, .1], [0]), pred([.1, .8, .1], [1]),
                             pred([.2, .7, .1], [1])], [[0], [1], [1], [0]])
    d = ev.details()
    assert [r["support"] for r in d["per_class"]] == [2, 2, 0]
    assert d["per_class"][0]["recall1"] == 0.5 and d["per_class"][1]["recall1"] == 0.5
    assert d["per_class"][2]["ap"] is None and d["per_class"][2]["recall1"] is None
    assert d["confusion_matrix"] == [[1, 1, 0], [1, 1, 0], [0, 0, 0]]


def test_state_merge_counts_each_video_once():
    a, b, whole = VideoEvaluator(CLASSES), VideoEvaluator(CLASSES), VideoEvaluator(CLASSES)
    preds = [pred(list(np.random.default_rng(i).random(7)), [i % 7]) for i in range(6)]
    labels = [[i % 7] for i in range(6)]
    a.update([0, 2, 4], preds[0::2], labels[0::2])
    b.update([1, 3, 5], preds[1::2], labels[1::2])
    whole.update(range(6), preds, labels)
    a.merge([a.state(), b.state()])
    assert a.compute() == whole.compute()


def test_records_round_trip_to_the_same_metrics():
    import torch

    probs = torch.softmax(torch.randn(3, 4, len(CLASSES), generator=torch.Generator().manual_seed(0)), -1)
    metas = [{"starts": [0, 3, 5, 8]} for _ in range(3)]
    preds = predictions(probs, metas)
    assert preds[0]["scores"] == pytest.approx(probs[0].mean(0).tolist(), abs=1e-6)
    assert [c["start"] for c in preds[1]["clips"]] == [0, 3, 5, 8] and len(preds[1]["topk"]) == 5
    back = [from_record(to_record(p, CLASSES)) for p in preds]
    labels = [[0], [1, 2], [6]]
    e1, e2 = VideoEvaluator(CLASSES), VideoEvaluator(CLASSES)
    e1.update(range(3), preds, labels)
    e2.update(range(3), back, labels)
    assert e1.compute() == e2.compute()
    rec = to_record(preds[0], CLASSES, conf=0.2)  # --conf filters the top-k lists, never the scores
    assert all(t["score"] >= 0.2 for t in rec["topk"]) and len(rec["scores"]) == len(CLASSES)
