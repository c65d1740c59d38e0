"""The run folder: claimed race-free and never clobbered; config.yaml, metrics.csv, summary.json, curves, every
file written atomically."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from cvkit.console import info
from cvkit.errors import CvkitError
from cvkit.io.atomic import atomic_write, write_text

# Temporaries of cvkit.io.atomic (tempfile.mkstemp(prefix=".NAME.", suffix=".tmp")): ".last.pt.k2j3x_9a.tmp".
_OUR_TEMPORARY = re.compile(r"^\.[^/]+\.[A-Za-z0-9_]+\.tmp$")
_HELD: dict[str, int] = {}  # run folders this process has claimed (flock on the folder, released at exit)


def new_run_dir(task: str, out: str | None, base: str | Path = "runs", exist_ok: bool = False,
                resume: bool = False) -> Path:
    """``--out`` as given, or the first free ``runs/<task>/train``, ``train2``, ``train3``... created race-free.

    The folder is claimed for this process (an exclusive lock another training cannot take); stale temporaries of
    an earlier, killed run are removed; an existing non-empty ``--out`` is refused unless ``exist_ok`` or
    ``resume``."""
    if not out:
        root = Path(base) / task
        root.mkdir(parents=True, exist_ok=True)
        n = 1
        while True:
            path = root / ("train" if n == 1 else f"train{n}")
            try:
                path.mkdir()  # atomic: of several processes at once, exactly one creates each name
            except FileExistsError:
                n += 1
                continue
            _claim(path)
            return path
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    _claim(path)
    remove_stale_temporaries(path)
    if not (exist_ok or resume):
        held = sorted(p.name for p in path.iterdir())
        if held:
            shown = ", ".join(held[:5]) + (f", ... ({len(held) - 5} more)" if len(held) > 5 else "")
            raise CvkitError(f"{path}: run folder exists and is not empty ({shown}); pass --exist-ok to write into "
                             "it, --resume CKPT to continue its run, or choose another --out")
    return path


def _claim(path: Path) -> None:
    """Hold an exclusive lock on the run folder for the life of this process; refuse one another process holds."""
    key = os.path.realpath(path)
    if key in _HELD:
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise CvkitError(f"{path}: run folder is in use by another training; choose another --out") from None
    _HELD[key] = fd


def remove_stale_temporaries(folder: Path) -> list[str]:
    """Delete the temporaries our atomic writes leave behind when a process is killed mid-write (kill -9).

    Call only on a folder this process has claimed: no other writer can own them then."""
    removed = []
    for entry in os.scandir(folder):
        if _OUR_TEMPORARY.match(entry.name) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(entry.name)
    if removed:
        info(f"{folder}: removed {len(removed)} temporary file(s) left by an interrupted run")
    return removed


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
