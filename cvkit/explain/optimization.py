"""``cvkit visualize optimizer``: first-order optimisers on the course's 2-D function.

``f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2`` has its minimum 0 at ``(1, 3)``; its Hessian ``[[10, 8], [8, 10]]``
has eigenvalues 2 and 18, so plain gradient descent converges for learning rates below ``2 / 18 = 0.111``: slowly
(it crawls) when the rate is far below, with zig-zags (it oscillates) just below, and it diverges above.

Every run starts at ``start`` (default ``(-5, 2)``) and takes ``steps`` (default 500) steps with the PyTorch
optimiser named below (float64 parameters, the exact gradient: "SGD" means the optimiser, the gradient is not
noisy). The default runs (option ``runs=`` picks some by name, comma-separated):

==================  =================================================================================
gd-crawl            SGD, lr 0.002
gd-converge         SGD, lr 0.05
gd-oscillate        SGD, lr 0.105 (the steep direction flips sign each step: factor -0.89)
gd-diverge          SGD, lr 0.12 (factor -1.16 along the steep direction)
momentum-0.25       SGD, lr 0.01, momentum 0.25
momentum-0.9        SGD, lr 0.01, momentum 0.9
nesterov-0.9        SGD, lr 0.01, momentum 0.9, Nesterov
adam                Adam, lr 0.2, betas (0.9, 0.999)
step-decay          SGD, lr 0.105, StepLR: multiplied by 0.5 every 25 steps
==================  =================================================================================

Writes ``optimizer.png`` (trajectories over the contour plot, and loss against step on a log scale) and
``optimizer.json``: per run its settings, ``final`` point, ``loss``, ``distance`` to (1, 3), ``converged``
(distance < ``tolerance``, default 1e-3), ``diverged`` (the loss exceeded 1e12 or stopped being finite; the run
stops there) and the ``path``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cvkit.errors import UsageError

MINIMUM = (1.0, 3.0)
DIVERGED = 1e12


def booth(p: torch.Tensor) -> torch.Tensor:
    """The course's function of ``p = (x, y)``."""
    x, y = p[..., 0], p[..., 1]
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


@dataclass
class Setting:
    name: str
    optimizer: str  # "sgd" or "adam"
    lr: float
    momentum: float = 0.0
    nesterov: bool = False
    step_size: int | None = None  # StepLR period
    gamma: float = 0.5
    extra: dict[str, Any] = field(default_factory=dict)


RUNS = (
    Setting("gd-crawl", "sgd", 0.002),
    Setting("gd-converge", "sgd", 0.05),
    Setting("gd-oscillate", "sgd", 0.105),
    Setting("gd-diverge", "sgd", 0.12),
    Setting("momentum-0.25", "sgd", 0.01, momentum=0.25),
    Setting("momentum-0.9", "sgd", 0.01, momentum=0.9),
    Setting("nesterov-0.9", "sgd", 0.01, momentum=0.9, nesterov=True),
    Setting("adam", "adam", 0.2),
    Setting("step-decay", "sgd", 0.105, step_size=25, gamma=0.5),
)


def trajectory(s: Setting, start: tuple[float, float] = (-5.0, 2.0), steps: int = 500,
               tolerance: float = 1e-3) -> dict[str, Any]:
    """Run one setting; returns its JSON document (see the module docstring)."""
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    if s.optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam([p], lr=s.lr)
    else:
        opt = torch.optim.SGD([p], lr=s.lr, momentum=s.momentum, nesterov=s.nesterov)
    sched = torch.optim.lr_scheduler.StepLR(opt, s.step_size, s.gamma) if s.step_size else None
    path, losses, diverged = [list(start)], [float(booth(p.detach()))], False
    for _ in range(steps):
        opt.zero_grad()
        loss = booth(p)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        value = float(booth(p.detach()))
        if not np.isfinite(value) or value > DIVERGED:
            diverged = True
            break
        path.append(p.detach().tolist())
        losses.append(value)
    final = path[-1]
    distance = float(np.hypot(final[0] - MINIMUM[0], final[1] - MINIMUM[1]))
    return {
        "name": s.name, "optimizer": s.optimizer, "lr": s.lr, "momentum": s.momentum, "nesterov": s.nesterov,
        "step_size": s.step_size, "gamma": s.gamma if s.step_size else None, "steps": len(path) - 1,
        "final": final, "loss": losses[-1], "distance": distance,
        "converged": bool(not diverged and distance < tolerance), "diverged": diverged,
        "path": path, "losses": losses,
    }


def run_all(names: list[str] | None = None, start: tuple[float, float] = (-5.0, 2.0), steps: int = 500,
            tolerance: float = 1e-3) -> dict[str, Any]:
    by_name = {s.name: s for s in RUNS}
    unknown = [n for n in names or [] if n not in by_name]
    if unknown:
        raise UsageError(f"--option runs={unknown[0]}: expected names among {', '.join(by_name)}")
    chosen = [by_name[n] for n in names] if names else list(RUNS)
    return {
        "function": "(x + 2y - 7)^2 + (2x + y - 5)^2", "minimum": list(MINIMUM), "start": list(start),
        "tolerance": tolerance, "runs": [trajectory(s, start, steps, tolerance) for s in chosen],
    }


def draw(doc: dict[str, Any], path: Path) -> None:
    """Trajectories over the contour plot (left) and loss against step (right), written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cvkit.io.atomic import atomic_write

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5.6))
    xs, ys = np.meshgrid(np.linspace(-6, 8, 300), np.linspace(-4, 10, 300))
    zs = booth(torch.from_numpy(np.stack([xs, ys], -1))).numpy()
    ax.contour(xs, ys, zs, levels=np.logspace(-1, 3.3, 18), cmap="Greys", linewidths=0.7)
    for run in doc["runs"]:
        pts = np.array(run["path"][: 12 if run["diverged"] else 80])  # the rest sits on the minimum (or far out)
        state = "diverged" if run["diverged"] else f"d={run['distance']:.1e}"
        label = f"{run['name']} ({state})"
        ax.plot(pts[:, 0], pts[:, 1], ".-", ms=2.5, lw=0.6 if run["diverged"] else 1, label=label)
        bx.semilogy(np.maximum(run["losses"], 1e-30), lw=1.2, label=run["name"])
    ax.plot(*MINIMUM, "k*", ms=12)
    ax.set(xlim=(-6, 8), ylim=(-4, 10), xlabel="x", ylabel="y", title="f(x, y) = (x+2y-7)^2 + (2x+y-5)^2")
    ax.legend(fontsize=7, loc="upper right")
    bx.set(xlabel="step", ylabel="f (log scale)", title="loss per step")
    bx.legend(fontsize=7)
    fig.tight_layout()
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110)
    plt.close(fig)


def run(out: Path, options: dict[str, str]) -> tuple[list[Path], dict[str, Any]]:
    """``visualize optimizer``: options ``runs`` (comma-separated names), ``start`` ("x,y"), ``steps``,
    ``tolerance``. Returns the written paths and the JSON document."""
    allowed = {"runs", "start", "steps", "tolerance"}
    for key in options:
        if key not in allowed:
            raise UsageError(f"--option {key}: visualize optimizer takes {', '.join(sorted(allowed))}")
    try:
        start = tuple(float(v) for v in options.get("start", "-5,2").split(","))
        steps = int(options.get("steps", 500))
        tolerance = float(options.get("tolerance", 1e-3))
    except ValueError as exc:
        raise UsageError(f"--option: {exc}") from None
    if len(start) != 2 or steps < 1:
        raise UsageError("--option start=X,Y and steps >= 1")
    names = [n.strip() for n in options["runs"].split(",") if n.strip()] if options.get("runs") else None
    doc = run_all(names, (start[0], start[1]), steps, tolerance)
    from cvkit.engine.rundir import write_json

    out.mkdir(parents=True, exist_ok=True)
    draw(doc, out / "optimizer.png")
    write_json(out / "optimizer.json", doc)
    return [out / "optimizer.png", out / "optimizer.json"], doc


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without the per-step paths and losses (what ``--json`` prints)."""
    return {**doc, "runs": [{k: v for k, v in r.items() if k not in ("path", "losses")} for r in doc["runs"]]}
