"""BLEU-1..4, ROUGE-L and CIDEr-D exactly as coco-caption computes them (pycocoevalcap's Bleu, Rouge, Cider).

Inputs are already tokenised sentences (``cvkit.text.normalize``: words joined by single spaces). Every function
takes ``refs: {key: [reference, ...]}`` and ``hyps: {key: hypothesis}`` over the same keys and returns the
corpus score and the per-key scores in key order. The arithmetic follows the reference step by step (same
operations in the same order, numpy where it uses numpy), so results are equal to the last bit:

- BLEU: corpus-level modified n-gram precisions (clipped by the maximum count over the references), brevity
  penalty with the *closest* reference length (ties: the shorter), smoothing constants 1e-15 / 1e-9.
- ROUGE-L: per sentence, F-measure (beta 1.2) of the best LCS precision and the best LCS recall over the
  references (sentences split on single spaces); the corpus score is the mean.
- CIDEr-D: n = 1..4, TF-IDF vectors with document frequencies over the references of the evaluated set, IDF
  ``log(#images) - log(max(1, df))``, clipped counts ``min(hyp, ref) * ref``, Gaussian length penalty with
  sigma 6 (lengths counted, as in the reference, in bigrams), averaged over n and references, times 10.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

_TINY, _SMALL = 1e-15, 1e-9


def _ngrams(sentence: str, n: int) -> dict[tuple[str, ...], int]:
    words = sentence.split()
    counts: dict[tuple[str, ...], int] = defaultdict(int)
    for k in range(1, n + 1):
        for i in range(len(words) - k + 1):
            counts[tuple(words[i : i + k])] += 1
    return counts


def bleu(refs: Mapping[Any, Sequence[str]], hyps: Mapping[Any, str], n: int = 4
         ) -> tuple[list[float], list[list[float]]]:
    """Corpus BLEU-1..n and per-sentence BLEU-1..n lists (``[k][i]``)."""
    total_test = total_ref = 0
    guess, correct = [0] * n, [0] * n
    per: list[list[float]] = [[] for _ in range(n)]
    for key in refs:
        test = hyps[key]
        max_counts: dict[tuple[str, ...], int] = {}
        lengths = []
        for ref in refs[key]:
            lengths.append(len(ref.split()))
            for gram, c in _ngrams(ref, n).items():
                max_counts[gram] = max(max_counts.get(gram, 0), c)
        testlen = len(test.split())
        reflen = min((abs(length - testlen), length) for length in lengths)[1]
        g = [max(0, testlen - k + 1) for k in range(1, n + 1)]
        c = [0] * n
        for gram, count in _ngrams(test, n).items():
            c[len(gram) - 1] += min(max_counts.get(gram, 0), count)
        total_test += testlen
        total_ref += reflen
        score = 1.0
        for k in range(n):
            guess[k] += g[k]
            correct[k] += c[k]
            score *= (float(c[k]) + _TINY) / (float(g[k]) + _SMALL)
            per[k].append(score ** (1.0 / (k + 1)))
        ratio = (testlen + _TINY) / (reflen + _SMALL)
        if ratio < 1:
            for k in range(n):
                per[k][-1] *= math.exp(1 - 1 / ratio)
    scores = []
    score = 1.0
    for k in range(n):
        score *= float(correct[k] + _TINY) / (guess[k] + _SMALL)
        scores.append(score ** (1.0 / (k + 1)))
    ratio = (total_test + _TINY) / (total_ref + _SMALL)
    if ratio < 1:
        scores = [s * math.exp(1 - 1 / ratio) for s in scores]
    return scores, per


def _lcs(a: list[str], b: list[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            cur[j] = prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1])
        prev = cur
    return prev[len(b)]


def rouge_l(refs: Mapping[Any, Sequence[str]], hyps: Mapping[Any, str], beta: float = 1.2
            ) -> tuple[float, list[float]]:
    """Mean ROUGE-L F-measure and the per-sentence scores."""
    per = []
    for key in refs:
        cand = hyps[key].split(" ")
        prec, rec = [], []
        for ref in refs[key]:
            tokens = ref.split(" ")
            lcs = _lcs(tokens, cand)
            prec.append(lcs / float(len(cand)))
            rec.append(lcs / float(len(tokens)))
        p, r = max(prec), max(rec)
        per.append(((1 + beta**2) * p * r) / float(r + beta**2 * p) if p != 0 and r != 0 else 0.0)
    return float(np.mean(np.array(per))), per


def cider_d(refs: Mapping[Any, Sequence[str]], hyps: Mapping[Any, str], n: int = 4, sigma: float = 6.0
            ) -> tuple[float, list[float]]:
    """CIDEr-D over the set (document frequencies from its references) and the per-sentence scores."""
    keys = list(refs)
    ref_counts = [[_ngrams(r, n) for r in refs[k]] for k in keys]
    test_counts = [_ngrams(hyps[k], n) for k in keys]
    df: dict[tuple[str, ...], float] = defaultdict(float)
    for counts in ref_counts:
        for gram in {g for c in counts for g in c}:
            df[gram] += 1
    log_n = np.log(float(len(keys)))

    def vector(counts: dict[tuple[str, ...], int]) -> tuple[list[dict], list[float], int]:
        vec: list[dict[tuple[str, ...], float]] = [defaultdict(float) for _ in range(n)]
        norm = [0.0] * n
        length = 0
        for gram, tf in counts.items():
            k = len(gram) - 1
            vec[k][gram] = float(tf) * (log_n - np.log(max(1.0, df[gram])))
            norm[k] += pow(vec[k][gram], 2)
            if k == 1:
                length += tf
        return vec, [np.sqrt(x) for x in norm], length

    per = []
    for test, counts in zip(test_counts, ref_counts, strict=True):
        vec, norm, length = vector(test)
        score = np.array([0.0] * n)
        for ref in counts:
            vec_r, norm_r, length_r = vector(ref)
            delta = float(length - length_r)
            val = np.array([0.0] * n)
            for k in range(n):
                for gram in vec[k]:
                    val[k] += min(vec[k][gram], vec_r[k][gram]) * vec_r[k][gram]
                if norm[k] != 0 and norm_r[k] != 0:
                    val[k] /= norm[k] * norm_r[k]
                val[k] *= np.e ** (-(delta**2) / (2 * sigma**2))
            score += val
        avg = np.mean(score)
        avg /= len(counts)
        avg *= 10.0
        per.append(avg)
    return float(np.mean(np.array(per))), [float(s) for s in per]


def caption_scores(refs: Mapping[Any, Sequence[str]], hyps: Mapping[Any, str]) -> dict[str, float]:
    """``BLEU-1``..``BLEU-4``, ``ROUGE-L`` and ``CIDEr-D`` of tokenised hypotheses against tokenised references."""
    if not refs:
        return {"BLEU-1": 0.0, "BLEU-2": 0.0, "BLEU-3": 0.0, "BLEU-4": 0.0, "ROUGE-L": 0.0, "CIDEr-D": 0.0}
    b, _ = bleu(refs, hyps)
    out = {f"BLEU-{k + 1}": float(v) for k, v in enumerate(b)}
    out["ROUGE-L"] = rouge_l(refs, hyps)[0]
    out["CIDEr-D"] = cider_d(refs, hyps)[0]
    return out
