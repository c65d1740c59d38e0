"""The run folder: config.yaml, metrics.csv, summary.json, curves; every file written atomically."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from cvkit.io.atomic import atomic_write, write_text


def new_run_dir(task: str, out: str | None, base: str | Path = "runs") -> Path:
    """``--out`` as given, or ``runs/<task>/train``, ``train2``, ``train3``... (first free name)."""
    if out:
        path = Path(out)
        path.mkdir(parents=True, exist_ok=True)
        return path
    root = Path(base) / task
    root.mkdir(parents=True, exist_ok=True)
    taken = {p.name for p in root.iterdir()}
    n = 1
    while (name := "train" if n == 1 else f"train{n}") in taken:
        n += 1
    path = root / name
    path.mkdir()
    return path


def write_config(run: Path, config: dict[str, Any]) -> None:
    write_text(run / "config.yaml", yaml.safe_dump(config, sort_keys=False))


def write_metrics(run: Path, history: list[dict[str, Any]]) -> None:
    """Rewrite metrics.csv from the whole history (one row per epoch) so it is always complete."""
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: _fmt(row.get(k)) for k in columns})
    write_text(run / "metrics.csv", buf.getvalue())


def write_json(path: Path, doc: dict[str, Any]) -> None:
    write_text(path, json.dumps(doc, indent=2, default=str) + "\n")


def _fmt(v: Any) -> Any:
    return f"{v:.6g}" if isinstance(v, float) else ("" if v is None else v)


def fingerprint(files: list[Path], sources: list[str]) -> dict[str, Any]:
    """A cheap identity of a dataset: a hash of the sorted file list with sizes, and of the annotation files."""
    h = hashlib.sha256()
    for s in sorted(sources):
        try:
            size = os.path.getsize(s)
        except OSError:
            size = -1
        h.update(f"{s}\0{size}\n".encode())
    ann = hashlib.sha256()
    for f in sorted(files):
        try:
            ann.update(Path(f).read_bytes())
        except OSError:
            ann.update(f"missing:{f}".encode())
    return {"num_samples": len(sources), "files_sha256": h.hexdigest()[:16],
            "annotations_sha256": ann.hexdigest()[:16], "annotation_files": [str(f) for f in files][:20]}


def plot_curves(run: Path, history: list[dict[str, Any]], out: Path | None = None) -> list[Path]:
    """One PNG per family of numeric columns: losses, and each metric, against epoch."""
    if not history:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in history]
    numeric = [k for k in history[-1] if k not in ("epoch", "step", "time", "lr", "data_wait")
               and isinstance(history[-1][k], (int, float))]
    losses = [k for k in numeric if "loss" in k]
    metrics = [k for k in numeric if k not in losses]
    written = []
    for name, keys in (("loss", losses), ("metrics", metrics)):
        if not keys:
            continue
        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        for k in keys:
            ax.plot(epochs, [r.get(k) for r in history], marker="o", label=k)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = (out or run) / f"{name}.png"
        with atomic_write(path, "wb") as fh:
            fig.savefig(fh, format="png")
        plt.close(fig)
        written.append(path)
    return written


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:80]
