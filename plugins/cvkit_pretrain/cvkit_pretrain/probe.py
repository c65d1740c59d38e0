"""Frozen-feature evaluation: scikit-learn's logistic regression (on standardised features) and cosine k-NN,
with all the training labels and with a fraction of them (stratified subsets, the mean over several)."""

from __future__ import annotations

import hashlib
import warnings

import numpy as np

K = 5
FRACTION = 0.1
SUBSETS = 3
MAX_ITER = 1000


def linear_probe(fit_x: np.ndarray, fit_y: np.ndarray, score_x: np.ndarray, score_y: np.ndarray) -> float:
    """Top-1 of ``LogisticRegression(max_iter=1000)`` on features standardised with the fit set's statistics."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(fit_y)) < 2:
        return float(np.mean(score_y == fit_y[0]))
    scaler = StandardScaler().fit(fit_x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(max_iter=MAX_ITER).fit(scaler.transform(fit_x), fit_y)
    return float(np.mean(clf.predict(scaler.transform(score_x)) == score_y))


def knn(fit_x: np.ndarray, fit_y: np.ndarray, score_x: np.ndarray, score_y: np.ndarray, k: int = K) -> float:
    """Top-1 of a majority vote of the ``k`` nearest fit features by cosine distance (scikit-learn's
    ``KNeighborsClassifier``: ties go to the smallest label)."""
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=min(k, len(fit_y)), metric="cosine").fit(fit_x, fit_y)
    return float(np.mean(clf.predict(score_x) == score_y))


def label_subsets(labels: np.ndarray, fraction: float = FRACTION, count: int = SUBSETS) -> list[np.ndarray]:
    """``count`` stratified subsets of ``fraction`` of the indices (seeds 0, 1, ...), each with at least one
    sample of every class when there are enough samples (a plain random subset otherwise)."""
    from sklearn.model_selection import train_test_split

    n = len(labels)
    size = max(len(np.unique(labels)), int(round(n * fraction)))
    out = []
    for seed in range(count):
        if size >= n:
            out.append(np.arange(n))
            continue
        try:
            idx, _ = train_test_split(np.arange(n), train_size=size, stratify=labels, random_state=seed)
        except ValueError:  # a class too small to stratify
            idx = np.random.default_rng(seed).permutation(n)[:size]
        out.append(np.sort(idx))
    return out


def probe_metrics(fit_x: np.ndarray, fit_y: np.ndarray, score_x: np.ndarray, score_y: np.ndarray,
                  prefix: str = "") -> dict[str, float]:
    """``probe_top1``, ``knn_top1`` with every label and ``probe10_top1``, ``knn10_top1`` with 10 % of them."""
    out = {f"{prefix}probe_top1": linear_probe(fit_x, fit_y, score_x, score_y),
           f"{prefix}knn_top1": knn(fit_x, fit_y, score_x, score_y)}
    subsets = label_subsets(fit_y)
    pct = round(FRACTION * 100)
    out[f"{prefix}probe{pct}_top1"] = float(np.mean([linear_probe(fit_x[s], fit_y[s], score_x, score_y)
                                                     for s in subsets]))
    out[f"{prefix}knn{pct}_top1"] = float(np.mean([knn(fit_x[s], fit_y[s], score_x, score_y) for s in subsets]))
    return out


_CACHE: dict[str, dict[str, float]] = {}


def cached_probe_metrics(fit_x: np.ndarray, fit_y: np.ndarray, score_x: np.ndarray, score_y: np.ndarray,
                         prefix: str = "") -> dict[str, float]:
    """:func:`probe_metrics`, remembered for identical inputs (the fixed random encoder's features are the same
    at every epoch)."""
    h = hashlib.sha1()
    for a in (fit_x, fit_y, score_x, score_y):
        h.update(np.ascontiguousarray(a).tobytes())
    key = prefix + h.hexdigest()
    if key not in _CACHE:
        _CACHE[key] = probe_metrics(fit_x, fit_y, score_x, score_y, prefix)
    return dict(_CACHE[key])
