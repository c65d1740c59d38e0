"""Bench (``make bench``): a U-Net's depth and normal metrics on builtin:rooms beside the mean-training-map
baseline, trained and evaluated through the CLI with the task's defaults (2,000 training rooms at 96x128, 300
validation rooms; the default U-Net: width 12, 5 levels, rel-l1 depth loss, 4 epochs, batch 8, AdamW 2e-3 with
cosine decay; metrics per image, then averaged).

Run with ``.venv/bin/python -m pytest -m bench -s tests/plugins/dense/test_bench.py`` (about 9 min on one core;
``CVKIT_BENCH_CACHE=DIR`` reuses rendered rooms). The table is printed and written to
``$CVKIT_BENCH_DIR/dense_bench.json`` when that is set. The issue's goal in <= 5 min of training is delta1 >= 0.95,
AbsRel <= 0.08, mean angle <= 8 deg with >= 80 % within 11.25 deg; the printout says whether it was met. Measured
with the defaults (rel-l1 depth loss, angular normal loss, 4 epochs) on both cores: delta1 0.962, AbsRel 0.078,
mean angle 7.0 deg, 86.8 % within 11.25 deg in 4.3 min, all four (one core: 0.960, 0.078, 7.0 deg, 86.7 %,
6.5 min; with --seed 1 0.957, 0.079, 7.2 deg, 86.3 %).
The assertions below hold a margin under those figures (other CPUs round differently) and a clear gap over the
baseline."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import cvkit

pytestmark = pytest.mark.bench

KEYS = ("delta1", "abs_rel", "rmse", "rmse_log", "angle_mean", "angle_median", "within_11.25")


def _run(root: Path, model: str, env: dict[str, str]) -> dict:
    out = root / model
    start = time.perf_counter()
    cvkit("train", "dense", "--model", model, "--out", str(out), check=True, timeout=3600, env=env)
    minutes = (time.perf_counter() - start) / 60
    result = json.loads(cvkit("eval", "--weights", str(out / "last.pt"), "--json", check=True, env=env).stdout)
    return {"train_min": round(minutes, 2), **{k: round(result["metrics"][k], 4) for k in KEYS}}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("dense_bench")
    env = {"CVKIT_CACHE": os.environ.get("CVKIT_BENCH_CACHE", str(root / "cache"))}
    rows = {name: _run(root, name, env) for name in ("mean-map", "unet")}
    lines = ["| model | train min | delta1 | AbsRel | RMSE (m) | RMSE log | mean angle | median angle | "
             "% < 11.25 |", "|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['train_min']} | {r['delta1']:.3f} | {r['abs_rel']:.3f} | {r['rmse']:.3f} | "
                     f"{r['rmse_log']:.3f} | {r['angle_mean']:.1f} | {r['angle_median']:.1f} | "
                     f"{r['within_11.25']:.1f} |")
    u = rows["unet"]
    goal = u["delta1"] >= 0.95 and u["abs_rel"] <= 0.08 and u["angle_mean"] <= 8 and u["within_11.25"] >= 80
    print("\n" + "\n".join(lines) + f"\nissue goal (delta1 >= 0.95, AbsRel <= 0.08, mean angle <= 8, >= 80 % < 11.25):"
          f" {'met' if goal else 'NOT met'}")
    if os.environ.get("CVKIT_BENCH_DIR"):
        Path(os.environ["CVKIT_BENCH_DIR"], "dense_bench.json").write_text(json.dumps(rows, indent=1))
    return rows


def test_unet_beats_the_mean_map(results):
    base, unet = results["mean-map"], results["unet"]
    assert unet["delta1"] >= base["delta1"] + 0.25
    assert unet["abs_rel"] <= 0.5 * base["abs_rel"]
    assert unet["angle_mean"] <= base["angle_mean"] - 15


def test_unet_near_the_measured_figures(results):
    unet = results["unet"]
    assert unet["delta1"] >= 0.94 and unet["abs_rel"] <= 0.09
    assert unet["angle_mean"] <= 11 and unet["within_11.25"] >= 74
