"""``tsne`` and ``neighbors``: what the network's feature space looks like.

Features are the penultimate ones (the input of the last linear layer), or with ``--layer`` that layer's output
(spatially averaged when it is a feature map). ``tsne`` reduces them with PCA to 50 dimensions and then
scikit-learn's TSNE, and plots them coloured by class. ``neighbors`` shows, for each query image, the k nearest
images of a split in feature space beside the k nearest in pixel space (both Euclidean).
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import torch

from cvkit.errors import CvkitError, UsageError
from cvkit.explain import render
from cvkit.explain.context import ExplainContext
from cvkit.explain.layers import capture, get_layer


def features(model: torch.nn.Module, x: torch.Tensor, layer: str | None = None) -> torch.Tensor:
    """(B, D) features of a normalised batch (B, C, H, W): the model's own (``cvkit.model.features``: its
    ``forward_features``, else its head's input) or those of ``layer``."""
    if layer is None:
        from cvkit import model as model_protocol

        with torch.no_grad():
            f = model_protocol.features(model, x).float()
        return f.reshape(f.shape[0], -1)
    get_layer(model, layer)
    with torch.no_grad(), capture(model, [layer]) as store:
        model(x)
    f = store[layer].float()
    if f.dim() == 4:
        f = f.mean((2, 3))
    return f.reshape(f.shape[0], -1)


def collect(ctx: ExplainContext, split: str, max_samples: int, keep_images: bool = False) -> dict:
    """Features (and optionally images) of a uniform random subset of ``split`` (reservoir sampling, seeded)."""
    if ctx.load_split is None:
        raise UsageError("this visualisation needs a dataset split (--data) to embed")
    rng = np.random.default_rng(ctx.seed())
    items: list[tuple[torch.Tensor, int, torch.Tensor | None, int]] = []  # (feature, label, image, index)
    seen = 0
    for batch, ys in ctx.load_split(split):
        f = features(ctx.model, batch.to(ctx.device), ctx.layer).cpu()
        for j in range(batch.shape[0]):
            item = (f[j], int(ys[j]), batch[j].detach().cpu().clone() if keep_images else None, seen)
            if len(items) < max_samples:
                items.append(item)
            else:
                slot = int(rng.integers(0, seen + 1))
                if slot < max_samples:
                    items[slot] = item
            seen += 1
    if not items:
        raise CvkitError(f"split {split!r} is empty")
    items.sort(key=lambda item: item[3])
    return {
        "features": torch.stack([it[0] for it in items]).numpy(),
        "labels": np.asarray([it[1] for it in items]),
        "index": np.asarray([it[3] for it in items]),
        "images": [it[2] for it in items] if keep_images else None,
        "seen": seen,
    }


def knn_purity(points: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Mean fraction of each point's k nearest other points that share its label."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(points) - 1)
    if k < 1:
        return 1.0
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    return float((labels[idx[:, 1:]] == labels[:, None]).mean())


def tsne_embed(feats: np.ndarray, perplexity: float = 30.0, seed: int = 0) -> np.ndarray:
    """PCA to 50 dimensions (when larger), then 2-D t-SNE."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    x = feats.astype(np.float32)
    if x.shape[1] > 50 and x.shape[0] > 50:
        x = PCA(n_components=50, random_state=seed).fit_transform(x)
    perplexity = min(perplexity, max(1.0, (len(x) - 1) / 3))
    return TSNE(2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed).fit_transform(x)


def _scatter(points: np.ndarray, labels: np.ndarray, classes: list[str], title: str) -> np.ndarray:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6), dpi=100)
    n = int(labels.max()) + 1 if len(labels) else 1
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20" if n <= 20 else "turbo", max(n, 1))
    for c in np.unique(labels):
        sel = labels == c
        name = classes[c] if c < len(classes) else str(c)
        ax.scatter(points[sel, 0], points[sel, 1], s=6, color=cmap(int(c) % cmap.N), label=name)
    if n <= 20:
        ax.legend(markerscale=3, fontsize=7, loc="best")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([]), ax.set_yticks([])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    img = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def run_tsne(ctx: ExplainContext) -> list[Path]:
    split = str(ctx.opt("split", "val"))
    data = collect(ctx, split, int(ctx.opt("max_samples", 2000)))
    points = tsne_embed(data["features"], float(ctx.opt("perplexity", 30.0)), ctx.seed())
    k = int(ctx.opt("k", 5))
    purity = knn_purity(points, data["labels"], k)
    feature_purity = knn_purity(data["features"], data["labels"], k)
    title = f"t-SNE of {ctx.layer or 'penultimate'} features, {split} ({len(points)}): {k}-NN purity {purity:.3f}"
    numbers = {
        "kind": "tsne", "split": split, "layer": ctx.layer or "penultimate", "samples": len(points),
        "split_size": data["seen"], "feature_dim": int(data["features"].shape[1]), "k": k,
        "knn_purity_2d": purity, "knn_purity_features": feature_purity,
        "index": data["index"], "labels": data["labels"], "points": points.round(4),
    }
    return render.save(ctx.out, "tsne", _scatter(points, data["labels"], ctx.classes, title), numbers)


def _tile(ctx: ExplainContext, x: torch.Tensor) -> np.ndarray:
    return render.enlarge(ctx.to_image(x), 64)


def run_neighbors(ctx: ExplainContext) -> list[Path]:
    split = str(ctx.opt("split", "train"))
    k = int(ctx.opt("k", 5))
    db = collect(ctx, split, int(ctx.opt("max_samples", 5000)), keep_images=True)
    pixels = torch.stack(db["images"]).reshape(len(db["images"]), -1).numpy()
    paths: list[Path] = []
    for i, (source, x) in enumerate(ctx.query_inputs("neighbors")):
        q_feat = features(ctx.model, x.unsqueeze(0).to(ctx.device), ctx.layer).cpu().numpy()[0]
        query = {"feature": q_feat, "pixel": x.cpu().reshape(-1).numpy()}
        bank = {"feature": db["features"], "pixel": pixels}
        found, rows = {}, []
        for space in ("feature", "pixel"):
            d = np.sqrt(((bank[space] - query[space]) ** 2).sum(1))
            nearest = np.argsort(d, kind="stable")[:k]
            names = [ctx.class_name(int(db["labels"][j])) for j in nearest]
            pairs = list(zip(nearest, names, strict=True))
            found[space] = [{"index": int(db["index"][j]), "label": int(db["labels"][j]), "label_name": name,
                             "distance": float(d[j])} for j, name in pairs]
            tiles = [render.caption(_tile(ctx, x), "query")]
            tiles += [render.caption(_tile(ctx, db["images"][j]), f"{name} {d[j]:.1f}") for j, name in pairs]
            rows.append(render.hstack(tiles))
        panel = render.vstack([render.caption(rows[0], f"{source}: nearest in feature space ({split})"),
                               render.caption(rows[1], "nearest in pixel space")])
        numbers = {"kind": "neighbors", "source": source, "split": split, "k": k, "layer": ctx.layer or "penultimate",
                   "database_size": len(db["index"]), **found}
        paths += render.save(ctx.out, render.input_name("neighbors", i, source), panel, numbers)
    return paths
