"""Classification metrics against scikit-learn on the same random inputs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, top_k_accuracy_score

from cvkit_classify.metric import ClassifyEvaluator


@pytest.mark.parametrize("n_classes", [3, 10])
def test_matches_sklearn(n_classes: int) -> None:
    rng = np.random.default_rng(n_classes)
    n = 503
    labels = rng.integers(0, n_classes, n)
    scores = rng.random((n, n_classes)) + np.eye(n_classes)[labels] * rng.random((n, 1))
    order = np.argsort(-scores, 1)
    ev = ClassifyEvaluator([str(i) for i in range(n_classes)])
    # fed in two shuffled halves, as two ranks would
    perm = rng.permutation(n)
    parts = []
    for half in (perm[: n // 2], perm[n // 2 :]):
        e = ClassifyEvaluator(ev.classes)
        e.update(half.tolist(), [{"topk": [(int(c), 0.0) for c in order[i, :5]]} for i in half], labels[half])
        parts.append(e.state())
    ev.merge(parts)
    m = ev.compute()
    k = min(5, n_classes)
    assert m["top1"] == pytest.approx(accuracy_score(labels, order[:, 0]), abs=1e-12)
    if k > 1:
        assert m[f"top{k}"] == pytest.approx(top_k_accuracy_score(labels, scores, k=k, labels=range(n_classes)),
                                             abs=1e-12)
    assert m["mean_class_acc"] == pytest.approx(balanced_accuracy_score(labels, order[:, 0]), abs=1e-12)
    assert (ev.confusion() == confusion_matrix(labels, order[:, 0], labels=range(n_classes))).all()
