"""`make bench`: every method on digits and shapes against random and supervised encoders (long; see
benchmarks/pretrain.py for the budgets)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.bench
def test_pretrain_benchmark(tmp_path: Path) -> None:
    from benchmarks.pretrain import METRICS, main

    results = main(["--out", str(tmp_path)])
    for name in ("digits", "shapes"):
        pre = results[name]["pretrain"]
        assert set(pre) == {"relpos", "colorize", "rotation", "simclr", "autoencoder", "supervised"}
        for method, r in pre.items():
            for k in METRICS:
                assert 0.0 <= r["metrics"][k] <= 1.0 and 0.0 <= r["metrics"]["random_" + k] <= 1.0, (method, k)
        assert all(0.0 <= f["top1"] <= 1.0 for f in results[name]["finetune"].values())
        # the supervised encoder is the ceiling the others are measured against
        assert pre["supervised"]["metrics"]["knn10_top1"] >= pre["supervised"]["metrics"]["random_knn10_top1"]
    # the goal for SimCLR on digits (its card's ~3-minute recipe): >= 4 points on the 10 %-label probe and
    # >= 2 points on k-NN over the random encoder of the same architecture
    sim = results["digits"]["pretrain"]["simclr"]["metrics"]
    assert sim["probe10_top1"] >= sim["random_probe10_top1"] + 0.04
    assert sim["knn_top1"] >= sim["random_knn_top1"] + 0.02 and sim["knn10_top1"] >= sim["random_knn10_top1"] + 0.02
