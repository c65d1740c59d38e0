"""The course demos: optimisers on (x + 2y - 7)^2 + (2x + y - 5)^2 and polynomial fits of 1.5x^2 + 2.3x + 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from cvkit.engine.visualize import run_visualize
from cvkit.explain import fitting, optimization
from tests.conftest import cvkit


@pytest.fixture(scope="module")
def runs() -> dict[str, dict]:
    return {r["name"]: r for r in optimization.run_all()["runs"]}


def test_gradient_is_the_analytic_one() -> None:
    p = torch.tensor([0.3, -1.2], dtype=torch.float64, requires_grad=True)
    optimization.booth(p).backward()
    x, y = 0.3, -1.2
    assert p.grad.tolist() == pytest.approx([10 * x + 8 * y - 34, 8 * x + 10 * y - 38])
    assert float(optimization.booth(torch.tensor([1.0, 3.0]))) == 0.0


@pytest.mark.parametrize("name", ["gd-converge", "gd-oscillate", "momentum-0.25", "momentum-0.9", "nesterov-0.9",
                                  "adam", "step-decay"])
def test_converging_runs_reach_the_minimum(runs: dict[str, dict], name: str) -> None:
    r = runs[name]
    assert r["converged"] and not r["diverged"]
    assert abs(r["final"][0] - 1) < 1e-3 and abs(r["final"][1] - 3) < 1e-3
    assert r["loss"] == pytest.approx(float(optimization.booth(torch.tensor(r["final"], dtype=torch.float64))))


def test_crawl_oscillate_diverge(runs: dict[str, dict]) -> None:
    crawl = runs["gd-crawl"]
    assert not crawl["converged"] and crawl["distance"] > 0.1
    assert np.all(np.diff(crawl["losses"]) < 0)  # steady but slow
    # lr 0.105 > 1/18: along the steep direction (1, 1) each step overshoots, so that component flips sign
    path = np.array(runs["gd-oscillate"]["path"][:10]) - [1.0, 3.0]
    steep = path @ np.array([1.0, 1.0])
    assert np.all(steep[1:] * steep[:-1] < 0)
    d = runs["gd-diverge"]
    assert d["diverged"] and not d["converged"] and d["steps"] < 500 and d["loss"] > 1e6
    # momentum 0.9 and Nesterov are faster than plain momentum 0.25 at the same learning rate
    first = {n: next(i for i, p in enumerate(runs[n]["path"]) if np.hypot(p[0] - 1, p[1] - 3) < 1e-2)
             for n in ("momentum-0.25", "momentum-0.9", "nesterov-0.9")}
    assert first["nesterov-0.9"] <= first["momentum-0.9"] < first["momentum-0.25"]


def test_gd_matches_the_update_rule_by_hand() -> None:
    r = optimization.trajectory(optimization.Setting("gd", "sgd", 0.05), start=(-5.0, 2.0), steps=3)
    p = np.array([-5.0, 2.0])
    for _ in range(3):
        x, y = p
        p = p - 0.05 * np.array([10 * x + 8 * y - 34, 8 * x + 10 * y - 38])
    assert r["final"] == pytest.approx(p.tolist(), abs=1e-12)


def test_fit_degrees_ridge_bias_variance() -> None:
    doc = fitting.experiment(seed=0, refits=60)
    val = {r["degree"]: r["val_mse"] for r in doc["degrees"]}
    train = {r["degree"]: r["train_mse"] for r in doc["degrees"]}
    assert doc["best_degree"] == 2 and min(val, key=val.get) == 2
    assert val[1] > 10 * val[2] and val[15] > val[2]  # 1 underfits, 15 overfits
    assert train[15] < train[2] < train[1]  # more degrees always fit the training points better
    assert doc["best_degree_expected"] == 2
    c = doc["coefficients_degree2"]
    assert c == pytest.approx([2.0, 2.3, 1.5], abs=0.3)
    ridge = doc["ridge"]["runs"]
    assert min(r["val_mse"] for r in ridge[1:]) < ridge[0]["val_mse"]  # some L2 helps degree 15
    assert ridge[-1]["weight_norm"] < ridge[0]["weight_norm"]
    bv = {r["degree"]: r for r in doc["bias_variance"]["degrees"]}
    assert bv[1]["bias2"] > 100 * bv[2]["bias2"] and bv[15]["variance"] > 100 * bv[2]["variance"]


@pytest.mark.parametrize("seed", range(1, 6))
def test_degree_two_beats_one_and_fifteen_on_any_sample(seed: int) -> None:
    doc = fitting.experiment(seed=seed, refits=2)
    val = {r["degree"]: r["val_mse"] for r in doc["degrees"]}
    assert val[2] < val[1] and val[2] < val[15]


def test_fit_matches_numpy_polyfit() -> None:
    rng = np.random.default_rng(1)
    x, y = fitting.sample(30, rng)
    for d in (1, 2, 5):
        w = fitting.fit_poly(x, y, d)
        np.testing.assert_allclose(fitting._in_x(w)[::-1], np.polyfit(x, y, d), rtol=1e-7, atol=1e-9)


def test_visualize_writes_pictures_and_json(tmp_path: Path) -> None:
    paths = run_visualize("optimizer", [], None, tmp_path / "o", None, None, None, None, None, False, None,
                          ["runs=gd-converge,adam", "steps=300"], "cpu")
    assert [p.name for p in paths] == ["optimizer.png", "optimizer.json"] and paths[0].stat().st_size > 10_000
    doc = json.loads(paths[1].read_text())
    assert [r["name"] for r in doc["runs"]] == ["gd-converge", "adam"] and len(doc["runs"][0]["path"]) == 301
    proc = cvkit("visualize", "fit", "--out", str(tmp_path / "f"), "--option", "refits=20", "--json", check=True)
    out = json.loads(proc.stdout)
    assert out["best_degree"] == 2 and "train" not in out and (tmp_path / "f" / "fit.png").stat().st_size > 10_000
    bad = cvkit("visualize", "optimizer", "--out", str(tmp_path / "x"), "--option", "speed=3")
    assert bad.returncode == 2 and "speed" in bad.stderr
