"""``cvkit visualize fit``: under- and overfitting with polynomial regression.

Data: ``y = 1.5 x^2 + 2.3 x + 2 + N(0, 0.5^2)`` with ``x`` uniform in ``[-3, 3]``; ``n_train`` (default 30) training
and ``n_val`` (default 200) validation points drawn from ``seed`` (default 0). Polynomials of degree 0..``max_degree``
(default 15) are fitted by least squares on the powers of ``x / 3`` (scaled to ``[-1, 1]`` so that the degree-15
system stays well conditioned; the fitted curve is the same polynomial in ``x``). Errors are mean squared errors.

Pictures and numbers (``fit.png``, ``fit.json``):

- ``fits``: degrees 1 (underfits), 2 (the true degree) and 15 (overfits) over the data;
- ``degrees``: train and validation MSE against degree (the validation curve's minimum is the best degree);
- ``ridge``: degree 15 with an L2 penalty ``lambda * ||w||^2`` (intercept not penalised) for ``lambdas`` (default
  0, 1e-6, 1e-4, 1e-2, 1, 100): train and validation MSE against lambda;
- ``bias_variance``: for each degree, ``refits`` (default 200) fits on fresh training sets (new x and noise, same
  size), evaluated on a fixed grid of 100 points: ``bias2`` = mean over the grid of (mean prediction - true
  function)^2, ``variance`` = mean over the grid of the predictions' variance, and their sum plus the noise
  variance 0.25 is the expected test error.

``best_degree`` is the degree with the lowest validation error on this one sample (2 for the default seed; on
other samples a degree a little above 2 can win by chance, since its extra terms are nearly zero);
``best_degree_expected`` is the degree with the lowest expected test error over the refits (2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cvkit.errors import UsageError

COEFFS = (2.0, 2.3, 1.5)  # y = 2 + 2.3 x + 1.5 x^2
NOISE = 0.5
X_RANGE = 3.0
LAMBDAS = (0.0, 1e-6, 1e-4, 1e-2, 1.0, 100.0)


def truth(x: np.ndarray) -> np.ndarray:
    return COEFFS[0] + COEFFS[1] * x + COEFFS[2] * x**2


def sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-X_RANGE, X_RANGE, n)
    return x, truth(x) + rng.normal(0.0, NOISE, n)


def design(x: np.ndarray, degree: int) -> np.ndarray:
    """Columns ``(x/3)^0 .. (x/3)^degree``."""
    return np.vander(np.asarray(x) / X_RANGE, degree + 1, increasing=True)


def fit_poly(x: np.ndarray, y: np.ndarray, degree: int, lam: float = 0.0) -> np.ndarray:
    """Weights on :func:`design` columns minimising ``||A w - y||^2 + lam * ||w[1:]||^2`` (least squares via
    ``lstsq`` on the system augmented with ``sqrt(lam) I`` rows, which is exact and stable)."""
    a = design(x, degree)
    if lam > 0:
        reg = np.sqrt(lam) * np.eye(degree + 1)[1:]
        a, y = np.vstack([a, reg]), np.concatenate([y, np.zeros(degree)])
    return np.linalg.lstsq(a, y, rcond=None)[0]


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return design(x, len(w) - 1) @ w


def mse(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((predict(w, x) - y) ** 2))


def experiment(seed: int = 0, n_train: int = 30, n_val: int = 200, max_degree: int = 15,
               lambdas: tuple[float, ...] = LAMBDAS, refits: int = 200) -> dict[str, Any]:
    """Every number of the picture (see the module docstring)."""
    rng = np.random.default_rng(seed)
    xt, yt = sample(n_train, rng)
    xv, yv = sample(n_val, rng)
    degrees = list(range(max_degree + 1))
    weights = {d: fit_poly(xt, yt, d) for d in degrees}
    train_err = [mse(weights[d], xt, yt) for d in degrees]
    val_err = [mse(weights[d], xv, yv) for d in degrees]
    ridge = []
    for lam in lambdas:
        w = fit_poly(xt, yt, max_degree, lam)
        ridge.append({"lambda": lam, "train_mse": mse(w, xt, yt), "val_mse": mse(w, xv, yv),
                      "weight_norm": float(np.linalg.norm(w[1:]))})
    grid = np.linspace(-X_RANGE, X_RANGE, 100)
    preds = {d: np.empty((refits, grid.size)) for d in degrees}
    for r in range(refits):
        x, y = sample(n_train, rng)
        for d in degrees:
            preds[d][r] = predict(fit_poly(x, y, d), grid)
    bv = [{"degree": d, "bias2": float(np.mean((preds[d].mean(0) - truth(grid)) ** 2)),
           "variance": float(np.mean(preds[d].var(0)))} for d in degrees]
    for row in bv:
        row["expected_test_mse"] = row["bias2"] + row["variance"] + NOISE**2
    return {
        "function": "y = 1.5 x^2 + 2.3 x + 2 + N(0, 0.5^2)", "x_range": [-X_RANGE, X_RANGE], "seed": seed,
        "n_train": n_train, "n_val": n_val, "noise_variance": NOISE**2,
        "degrees": [{"degree": d, "train_mse": train_err[d], "val_mse": val_err[d]} for d in degrees],
        "best_degree": int(np.argmin(val_err)),
        "best_degree_expected": int(np.argmin([row["expected_test_mse"] for row in bv])),
        "coefficients_degree2": _in_x(weights[2]) if max_degree >= 2 else None,
        "ridge": {"degree": max_degree, "runs": ridge},
        "bias_variance": {"refits": refits, "grid_points": int(grid.size), "degrees": bv},
        "train": {"x": xt.tolist(), "y": yt.tolist()},
    }


def _in_x(w: np.ndarray) -> list[float]:
    """Weights on powers of ``x/3`` -> the polynomial's coefficients on powers of ``x`` (lowest first)."""
    return [float(c / X_RANGE**k) for k, c in enumerate(w)]


def draw(doc: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cvkit.io.atomic import atomic_write

    xt, yt = np.array(doc["train"]["x"]), np.array(doc["train"]["y"])
    grid = np.linspace(-X_RANGE, X_RANGE, 400)
    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    ax = axes[0, 0]
    ax.plot(xt, yt, "ko", ms=4, label="training data")
    ax.plot(grid, truth(grid), "k--", lw=1, label="true function")
    top = max(d["degree"] for d in doc["degrees"])
    for d in sorted({1, 2, top}):
        ax.plot(grid, predict(fit_poly(xt, yt, d), grid), lw=1.5, label=f"degree {d}")
    ax.set(ylim=(yt.min() - 3, yt.max() + 3), xlabel="x", ylabel="y", title="fits")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    deg = [r["degree"] for r in doc["degrees"]]
    ax.semilogy(deg, [r["train_mse"] for r in doc["degrees"]], "o-", label="train")
    ax.semilogy(deg, [r["val_mse"] for r in doc["degrees"]], "o-", label="validation")
    ax.axvline(doc["best_degree"], color="grey", ls=":", lw=1)
    ax.set(xlabel="degree", ylabel="MSE", title=f"error against degree (best: {doc['best_degree']})")
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    runs = doc["ridge"]["runs"]
    labels = [f"{r['lambda']:g}" for r in runs]
    ax.semilogy(labels, [r["train_mse"] for r in runs], "o-", label="train")
    ax.semilogy(labels, [r["val_mse"] for r in runs], "o-", label="validation")
    ax.set(xlabel="L2 lambda", ylabel="MSE", title=f"degree {doc['ridge']['degree']} with L2 regularisation")
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    bv = doc["bias_variance"]["degrees"]
    ax.semilogy([r["degree"] for r in bv], [r["bias2"] for r in bv], "o-", label="bias^2")
    ax.semilogy([r["degree"] for r in bv], [r["variance"] for r in bv], "o-", label="variance")
    ax.semilogy([r["degree"] for r in bv], [r["expected_test_mse"] for r in bv], "o-", label="bias^2+var+noise")
    ax.set(xlabel="degree", title=f"bias and variance over {doc['bias_variance']['refits']} refits")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=100)
    plt.close(fig)


def run(out: Path, options: dict[str, str]) -> tuple[list[Path], dict[str, Any]]:
    """``visualize fit``: options ``seed``, ``n_train``, ``n_val``, ``max_degree``, ``refits``, ``lambdas``
    (comma-separated). Returns the written paths and the JSON document."""
    allowed = {"seed", "n_train", "n_val", "max_degree", "refits", "lambdas"}
    for key in options:
        if key not in allowed:
            raise UsageError(f"--option {key}: visualize fit takes {', '.join(sorted(allowed))}")
    try:
        kw: dict[str, Any] = {k: int(options[k]) for k in ("seed", "n_train", "n_val", "max_degree", "refits")
                              if k in options}
        if "lambdas" in options:
            kw["lambdas"] = tuple(float(v) for v in options["lambdas"].split(","))
    except ValueError as exc:
        raise UsageError(f"--option: {exc}") from None
    if kw.get("n_train", 30) < 2 or kw.get("n_val", 200) < 1 or kw.get("max_degree", 15) < 2 \
            or kw.get("refits", 200) < 2:
        raise UsageError("--option: n_train >= 2, n_val >= 1, max_degree >= 2 and refits >= 2")
    doc = experiment(**kw)
    from cvkit.engine.rundir import write_json

    out.mkdir(parents=True, exist_ok=True)
    draw(doc, out / "fit.png")
    write_json(out / "fit.json", doc)
    return [out / "fit.png", out / "fit.json"], doc


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without the training points (what ``--json`` prints)."""
    return {k: v for k, v in doc.items() if k != "train"}
