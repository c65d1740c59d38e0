"""The probes against scikit-learn and a direct k-NN on the same features; label subsets."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from cvkit_pretrain.metric import ProbeEvaluator
from cvkit_pretrain.probe import knn, label_subsets, linear_probe, probe_metrics


def blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    centres = np.random.default_rng(42).normal(0, 1, (4, 16))  # the same classes in every sample
    return (centres[y] + rng.normal(0, 1.3, (n, 16))).astype(np.float32), y


def test_linear_probe_equals_scikit_learn_on_the_same_features() -> None:
    fx, fy = blobs(200, 0)
    sx, sy = blobs(80, 1)
    scaler = StandardScaler().fit(fx)
    ref = LogisticRegression(max_iter=1000).fit(scaler.transform(fx), fy).predict(scaler.transform(sx))
    assert linear_probe(fx, fy, sx, sy) == float(np.mean(ref == sy))
    assert 0.3 < linear_probe(fx, fy, sx, sy) < 1.0  # a real, imperfect score


def knn_direct(fx: np.ndarray, fy: np.ndarray, sx: np.ndarray, k: int) -> np.ndarray:
    """Cosine similarity, the k most similar, majority vote with ties to the smallest label."""
    a = fx / np.linalg.norm(fx, axis=1, keepdims=True)
    b = sx / np.linalg.norm(sx, axis=1, keepdims=True)
    out = []
    for row in b @ a.T:
        near = np.argsort(-row, kind="stable")[:k]
        votes = np.bincount(fy[near], minlength=fy.max() + 1)
        out.append(int(np.argmax(votes)))
    return np.array(out)


@pytest.mark.parametrize("k", [1, 5])
def test_knn_is_a_cosine_majority_vote(k: int) -> None:
    fx, fy = blobs(150, 2)
    sx, sy = blobs(60, 3)
    assert knn(fx, fy, sx, sy, k) == float(np.mean(knn_direct(fx, fy, sx, k) == sy))


def test_label_subsets_are_stratified_distinct_and_ten_percent() -> None:
    y = np.repeat(np.arange(10), 50)
    subsets = label_subsets(y)
    assert len(subsets) == 3
    for s in subsets:
        assert len(s) == 50 and np.all(np.bincount(y[s], minlength=10) == 5)
    assert not np.array_equal(subsets[0], subsets[1])


def test_metrics_names_and_ten_percent_is_the_mean_over_subsets() -> None:
    fx, fy = blobs(300, 4)
    sx, sy = blobs(100, 5)
    m = probe_metrics(fx, fy, sx, sy, prefix="random_")
    assert set(m) == {"random_probe_top1", "random_knn_top1", "random_probe10_top1", "random_knn10_top1"}
    expected = np.mean([linear_probe(fx[s], fy[s], sx, sy) for s in label_subsets(fy)])
    assert m["random_probe10_top1"] == pytest.approx(expected)


def test_evaluator_fits_on_fit_rows_and_scores_the_others() -> None:
    fx, fy = blobs(60, 6)
    sx, sy = blobs(20, 7)
    ev = ProbeEvaluator()
    ev.update(range(60), [{"features": f, "random_features": f * 0 + 1} for f in fx],
              [{"part": "fit", "label": int(v)} for v in fy])
    ev.update(range(60, 80), [{"features": f, "pretext_loss": 2.0} for f in sx],
              [{"part": "score", "label": int(v)} for v in sy])
    m = ev.compute()
    assert m["probe_top1"] == linear_probe(fx, fy, sx, sy)
    assert m["pretext_loss"] == 2.0 and m["num_fit"] == 60 and m["num_scored"] == 20
    assert "random_probe_top1" not in m  # the scored rows carry no random features here
    unlabelled = ProbeEvaluator(labelled=False)
    assert unlabelled.primary == "pretext_loss" and unlabelled.higher_is_better is False
