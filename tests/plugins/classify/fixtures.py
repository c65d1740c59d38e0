"""Builders of small classification datasets in their real on-disk layouts, for tests.

Every image is a real encoded file whose colour tells its class (``class_colour``), so a model can learn them.
The ImageNet builders use real WNIDs and words, and give the devkit's ``meta.mat`` ILSVRC2012_IDs in an order
that differs from sorted WNID order (as in the real devkit), plus non-leaf synsets that must be ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

# (WNID, words) of real ILSVRC2012 classes, in sorted WNID order.
SYNSETS = [
    ("n01440764", "tench, Tinca tinca"),
    ("n01443537", "goldfish, Carassius auratus"),
    ("n01484850", "great white shark, white shark, man-eater, man-eating shark, Carcharodon carcharias"),
    ("n01491361", "tiger shark, Galeocerdo cuvieri"),
    ("n01494475", "hammerhead, hammerhead shark"),
    ("n01496331", "electric ray, crampfish, numbfish, torpedo"),
    ("n01498041", "stingray"),
    ("n01514668", "cock"),
    ("n01514859", "hen"),
    ("n01518878", "ostrich, Struthio camelus"),
]
META_FIELDS = ("ILSVRC2012_ID", "WNID", "words", "gloss", "num_children", "children", "wordnet_height",
               "num_train_images")


def class_colour(index: int) -> tuple[int, int, int]:
    """A distinct BGR colour per class index."""
    hue = (index * 37) % 180
    hsv = np.uint8([[[hue, 200, 60 + (index * 53) % 190]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def write_image(path: Path, size: tuple[int, int], index: int, seed: int = 0) -> Path:
    """A real image file (format from the extension, any case) of ``size`` (W, H) in the colour of class ``index``."""
    w, h = size
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3), np.uint8)
    img[:] = class_colour(index)
    img = np.clip(img.astype(np.int16) + rng.integers(-8, 9, img.shape), 0, 255).astype(np.uint8)
    ext = path.suffix.lower()
    ok, buf = cv2.imencode(".jpg" if ext in (".jpeg", ".jpg") else ext, img)
    assert ok, path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.tobytes())
    return path


def make_imagefolder(
    root: Path,
    classes: Sequence[str] = ("cat", "dog"),
    per_class: int = 3,
    splits: Sequence[str] | None = ("train", "val"),
    size: tuple[int, int] = (16, 16),
    ext: str = ".png",
) -> Path:
    """``root/<split>/<class>/<class>_<k><ext>`` (or flat ``root/<class>/...`` when ``splits`` is None)."""
    for s, split in enumerate(splits or [None]):
        base = root / split if split else root
        for c, cls in enumerate(classes):
            for k in range(per_class):
                write_image(base / cls / f"{cls}_{k}{ext}", size, c, seed=1000 * s + 10 * c + k)
    return root


def leaf_ids(n_classes: int) -> list[int]:
    """The ILSVRC2012_ID of each sorted WNID: a fixed permutation, so ID order != sorted WNID order."""
    ids = list(range(n_classes, 0, -1))
    if n_classes > 2:
        ids[0], ids[1] = ids[1], ids[0]
    return ids


def make_meta_mat(path: Path, synsets: Sequence[tuple[str, str]], ids: Sequence[int], fields=META_FIELDS) -> Path:
    """The devkit's ``meta.mat``: a struct array ``synsets`` (N x 1) of leaves in ID order, then 2 non-leaves."""
    import scipy.io

    leaves = sorted(zip(ids, synsets, strict=True))
    rows = [(i, wnid, words, 0, []) for i, (wnid, words) in leaves]
    top = len(rows)
    rows += [(top + 1, "n00001740", "entity", 1, [top + 2]), (top + 2, "n00002137", "abstraction", top, ids)]
    arr = np.zeros((len(rows), 1), dtype=[(f, object) for f in fields])
    for r, (sid, wnid, words, n_children, children) in enumerate(rows):
        values = {
            "ILSVRC2012_ID": np.array([[sid]], np.uint16),
            "WNID": wnid,
            "words": words,
            "gloss": f"gloss of {words.split(',')[0]}",
            "num_children": np.array([[n_children]], np.uint16),
            "children": np.array([list(children)], np.uint16).reshape(1, -1),
            "wordnet_height": np.array([[0 if not n_children else 1]], np.uint8),
            "num_train_images": np.array([[1300 if not n_children else 0]], np.uint16),
        }
        for f in fields:
            arr[r, 0][f] = values[f]
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"synsets": arr})
    return path


def val_labels(n_classes: int, per_class: int) -> list[int]:
    """Class index (sorted-WNID position) of the k-th flat val image: classes interleaved as in the real set."""
    return [(k * 7 + k // n_classes) % n_classes for k in range(n_classes * per_class)]


def make_imagenet_devkit(
    root: Path, n_classes: int = 3, per_class: int = 2, size: tuple[int, int] = (16, 16), train: bool = True
) -> Path:
    """Official ILSVRC2012 layout: ``train/<wnid>/<wnid>_<k>.JPEG``, flat ``val/ILSVRC2012_val_<8 digits>.JPEG``
    and ``ILSVRC2012_devkit_t12/data/{meta.mat, ILSVRC2012_validation_ground_truth.txt}``.

    Val image k (1-based in the file name) is of class ``val_labels(n_classes, per_class)[k - 1]``.
    """
    synsets = SYNSETS[:n_classes]
    ids = leaf_ids(n_classes)
    data = root / "ILSVRC2012_devkit_t12" / "data"
    make_meta_mat(data / "meta.mat", synsets, ids)
    if train:
        for c, (wnid, _) in enumerate(synsets):
            for k in range(per_class):
                write_image(root / "train" / wnid / f"{wnid}_{k + 1}.JPEG", size, c, seed=10 * c + k)
    labels = val_labels(n_classes, per_class)
    for k, c in enumerate(labels, 1):
        write_image(root / "val" / f"ILSVRC2012_val_{k:08d}.JPEG", size, c, seed=5000 + k)
    (data / "ILSVRC2012_validation_ground_truth.txt").write_text("".join(f"{ids[c]}\n" for c in labels))
    return root


def make_imagenet_folders(
    root: Path, n_classes: int = 3, per_class: int = 2, size: tuple[int, int] = (16, 16),
    splits: Sequence[str] = ("train", "val"),
) -> Path:
    """Re-organised ImageNet: ``<split>/<wnid>/*.JPEG`` (val files keep their ILSVRC2012_val names)."""
    n = 0
    for split in splits:
        for c, (wnid, _) in enumerate(SYNSETS[:n_classes]):
            for k in range(per_class):
                n += 1
                name = f"{wnid}_{k + 1}.JPEG" if split == "train" else f"ILSVRC2012_val_{n:08d}.JPEG"
                write_image(root / split / wnid / name, size, c, seed=n)
    return root


def make_imagenet_kaggle(root: Path, n_classes: int = 3, per_class: int = 2, size: tuple[int, int] = (16, 16)) -> Path:
    """Kaggle LOC release: ``LOC_synset_mapping.txt``, ``LOC_val_solution.csv`` (rows in no particular order,
    several boxes per row) and ``ILSVRC/Data/CLS-LOC/{train/<wnid>/, val/}``; val labels as ``val_labels``."""
    synsets = SYNSETS[:n_classes]
    (root / "LOC_synset_mapping.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "LOC_synset_mapping.txt").write_text("".join(f"{w} {words}\n" for w, words in synsets))
    data = root / "ILSVRC" / "Data" / "CLS-LOC"
    for c, (wnid, _) in enumerate(synsets):
        for k in range(per_class):
            write_image(data / "train" / wnid / f"{wnid}_{k + 1}.JPEG", size, c, seed=10 * c + k)
    rows = []
    for k, c in enumerate(val_labels(n_classes, per_class), 1):
        write_image(data / "val" / f"ILSVRC2012_val_{k:08d}.JPEG", size, c, seed=5000 + k)
        wnid = synsets[c][0]
        rows.append(f"ILSVRC2012_val_{k:08d},{wnid} 1 2 10 12 {wnid} 0 0 5 5 ")
    csv_rows = rows[1::2] + rows[0::2]
    (root / "LOC_val_solution.csv").write_text("ImageId,PredictionString\n" + "\n".join(csv_rows) + "\n")
    return root
