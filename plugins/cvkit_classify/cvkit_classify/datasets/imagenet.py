"""ImageNet (ILSVRC2012 classification) in its three common on-disk layouts.

1. Class folders: ``train/<wnid>/*.JPEG`` and the re-organised ``val/<wnid>/*.JPEG`` (and ``test/<wnid>/``).
2. The official devkit validation set: a flat ``val/ILSVRC2012_val_<N>.JPEG`` labelled by
   ``ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt`` (line k labels the k-th file in sorted
   order with an ILSVRC2012_ID) and ``data/meta.mat`` (struct array ``synsets``). The devkit folder is looked for
   in ``root/`` and one level below (``root/devkit/ILSVRC2012_devkit_t12``, ...).
3. Kaggle's LOC release: ``LOC_synset_mapping.txt``, ``LOC_val_solution.csv`` and
   ``ILSVRC/Data/CLS-LOC/{train/<wnid>/, val/ (flat), test/}``.

Class index = position of the WNID in sorted WNID order (torchvision's ImageFolder convention). ILSVRC2012_IDs
are NOT in that order: a ground-truth ID is always mapped ID -> WNID -> sorted index, never ID - 1.
Which WNIDs are the classes: when ``meta.mat`` (its leaves, ``num_children == 0``) or the Kaggle mapping file is
present, all of its synsets, so that a train folder holding a subset keeps the standard 1000-class indices;
otherwise the sorted union of the ``<wnid>`` folders found in train/, val/ and test/.
Class names are the first name of each synset's ``words`` (``tench`` for ``tench, Tinca tinca``), or the WNID when
no words are known; the few names ImageNet uses twice (``crane``, ``maillot``) get their WNID appended.
``info.extra`` holds ``wnids``, the full ``words`` and the ``layout``.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.errors import BadInput

from .imagefolder import describe_folder, has_images, is_image_name, list_images, normalize_split, subdirs

log = logging.getLogger(__name__)

WNID = re.compile(r"n[0-9]{8}")
DEVKIT = "ILSVRC2012_devkit_t12"
GROUND_TRUTH = "ILSVRC2012_validation_ground_truth.txt"
KAGGLE_MAPPING = "LOC_synset_mapping.txt"
KAGGLE_VAL = "LOC_val_solution.csv"
KAGGLE_DATA = Path("ILSVRC", "Data", "CLS-LOC")
META_FIELDS = ("ILSVRC2012_ID", "WNID", "num_children")


@dataclass
class Synsets:
    """The classes: WNIDs in sorted order (list position = class index) with their words."""

    wnids: list[str]
    words: list[str]
    ids: dict[int, int] = field(default_factory=dict)  # ILSVRC2012_ID -> class index (meta.mat only)
    file: Path | None = None

    @classmethod
    def build(cls, pairs: dict[str, str], ids: dict[int, str] | None = None, file: Path | None = None) -> Synsets:
        wnids = sorted(pairs)
        index = {w: i for i, w in enumerate(wnids)}
        by_id = {i: index[w] for i, w in (ids or {}).items()}
        return cls(wnids, [pairs[w] for w in wnids], by_id, file)

    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.wnids)}

    def class_names(self) -> list[str]:
        names = [(words.split(",")[0].strip() or wnid) for wnid, words in zip(self.wnids, self.words, strict=True)]
        twice = {n for n, c in Counter(names).items() if c > 1}
        return [f"{n} ({w})" if n in twice else n for n, w in zip(names, self.wnids, strict=True)]


def read_text(path: Path) -> str:
    """A text file as str (UTF-8, BOM allowed), BadInput when it is missing or not text."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(path, "file not found") from None
    except OSError as exc:
        raise BadInput(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(path, f"not UTF-8 text (byte {exc.start})") from None


def text_lines(text: str) -> list[str]:
    """Lines split on newlines only (so line numbers match an editor's), trailing blank lines dropped."""
    lines = [line.rstrip("\r") for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def shown(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def read_meta_mat(path: Path) -> Synsets:
    """The leaf synsets (``num_children == 0``) of the devkit's ``meta.mat``."""
    import numpy as np
    import scipy.io

    if not path.is_file():
        raise BadInput(path, "file not found: meta.mat maps ILSVRC2012_IDs to WNIDs")
    try:
        mat = scipy.io.loadmat(path, squeeze_me=True)
    except Exception as exc:  # scipy raises many types on a corrupt file
        raise BadInput(path, f"not a readable MATLAB file ({type(exc).__name__}: {exc})") from None
    if "synsets" not in mat:
        raise BadInput(path, "no 'synsets' variable (expected the devkit's struct array)")
    synsets = np.atleast_1d(mat["synsets"])
    names = synsets.dtype.names or ()
    missing = [f for f in META_FIELDS if f not in names]
    if missing:
        raise BadInput(path, f"synsets lacks field(s) {', '.join(missing)}", where="synsets")
    pairs: dict[str, str] = {}
    ids: dict[int, str] = {}
    for i, s in enumerate(synsets.ravel()):
        try:
            if int(s["num_children"]) != 0:
                continue
            sid, wnid = int(s["ILSVRC2012_ID"]), str(s["WNID"]).strip()
            words = str(s["words"]).strip() if "words" in names else ""
        except (TypeError, ValueError) as exc:
            raise BadInput(path, f"unreadable synset ({exc})", where=f"synsets[{i}]") from None
        if not WNID.fullmatch(wnid):
            raise BadInput(path, f"WNID {shown(wnid)} is not of the form n01234567", where=f"synsets[{i}]")
        if sid in ids or wnid in pairs:
            raise BadInput(path, f"duplicate leaf ILSVRC2012_ID {sid} or WNID {wnid}", where=f"synsets[{i}]")
        ids[sid], pairs[wnid] = wnid, words
    if not pairs:
        raise BadInput(path, "no leaf synsets (num_children == 0)", where="synsets")
    return Synsets.build(pairs, ids, path)


def parse_synset_mapping(path: Path) -> Synsets:
    """Kaggle's ``LOC_synset_mapping.txt``: one ``n01440764 tench, Tinca tinca`` per line."""
    pairs: dict[str, str] = {}
    for n, line in enumerate(text_lines(read_text(path)), 1):
        if not line.strip():
            continue
        wnid, _, words = line.strip().partition(" ")
        if not WNID.fullmatch(wnid):
            raise BadInput(path, f"expected 'n01234567 words', got {shown(line)}", where=f"line {n}")
        if wnid in pairs:
            raise BadInput(path, f"WNID {wnid} listed twice", where=f"line {n}")
        pairs[wnid] = words.strip()
    if not pairs:
        raise BadInput(path, "no synsets: expected lines like 'n01440764 tench, Tinca tinca'")
    return Synsets.build(pairs, file=path)


def parse_ground_truth(path: Path, ids: dict[int, int], skip_bad: bool = False) -> tuple[list[int | None], int]:
    """Class index per line of the devkit ground truth (None for a bad line skipped under ``skip_bad``)."""
    labels: list[int | None] = []
    skipped = 0
    for n, line in enumerate(text_lines(read_text(path)), 1):
        value = line.strip()
        if re.fullmatch(r"[0-9]{1,9}", value) and int(value) in ids:
            labels.append(ids[int(value)])
            continue
        if not skip_bad:
            raise BadInput(path, f"expected an ILSVRC2012_ID of a meta.mat leaf ({id_range(ids)}), got {shown(value)}",
                           where=f"line {n}")
        labels.append(None)
        skipped += 1
    if not labels:
        raise BadInput(path, "empty: expected one ILSVRC2012_ID per validation image")
    return labels, skipped


def id_range(ids: dict[int, int]) -> str:
    lo, hi = min(ids, default=0), max(ids, default=0)
    return f"{lo}..{hi}" if hi - lo + 1 == len(ids) else f"{len(ids)} IDs in {lo}..{hi}"


def parse_val_solution(
    path: Path, index: dict[str, int], skip_bad: bool = False
) -> tuple[dict[str, int | None], int]:
    """Kaggle's ``LOC_val_solution.csv``: ImageId -> class index of the first box's WNID.

    Under ``skip_bad`` a bad row is counted in the returned number and its ImageId (when it has one) maps to None.
    """
    labels: dict[str, int | None] = {}
    skipped = 0
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    try:
        header = next(reader, None)
        if [h.strip() for h in header or []] != ["ImageId", "PredictionString"]:
            raise BadInput(path, f"expected the header 'ImageId,PredictionString', got {header}", where="line 1")
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            image = row[0].strip()
            tokens = row[1].split() if len(row) == 2 else []
            if len(row) != 2 or not image:
                reason = f"expected 'ImageId,wnid x1 y1 x2 y2 ...', got {len(row)} field(s)"
            elif image in labels:
                reason = f"ImageId {shown(image)} listed twice"
                image = ""  # keep the first row's label
            elif not tokens or tokens[0] not in index:
                reason = f"unknown WNID {shown(tokens[0]) if tokens else '(none)'} (not in the synset mapping)"
            else:
                labels[image] = index[tokens[0]]
                continue
            if not skip_bad:
                raise BadInput(path, reason, where=f"line {reader.line_num}")
            skipped += 1
            if image:
                labels[image] = None
    except csv.Error as exc:
        raise BadInput(path, f"malformed CSV ({exc})", where=f"line {reader.line_num}") from None
    return labels, skipped


def find_devkit(root: Path) -> Path | None:
    """The devkit folder (holding ``data/``) in ``root`` or one level below, preferring its official name."""
    candidates = [root / DEVKIT, *(root / d / DEVKIT for d in subdirs(root)), root]
    candidates += [root / d for d in subdirs(root)]
    for folder in candidates:
        if (folder / "data" / GROUND_TRUTH).is_file() or (folder / "data" / "meta.mat").is_file():
            return folder
    return None


def val_number(image: Path) -> int | None:
    match = re.fullmatch(r"ILSVRC2012_val_([0-9]+)", image.stem)
    return int(match.group(1)) if match else None


def wnid_folders(folder: Path) -> list[str]:
    return [d for d in subdirs(folder) if WNID.fullmatch(d)]


def is_kaggle(root: Path) -> bool:
    return (root / KAGGLE_MAPPING).is_file()


def has_flat_images(folder: Path) -> bool:
    try:
        with os.scandir(folder) as it:
            return any(is_image_name(e.name) and e.is_file() for e in it)
    except OSError:
        return False


Labelled = tuple[list[str], list[int], int]  # sources, class indices, skipped


def from_folders(folder: Path, synsets: Synsets, skip_bad: bool) -> Labelled:
    """Images of ``folder/<wnid>/``; a WNID that is not a class is an error (skipped with ``skip_bad``)."""
    index = synsets.index()
    sources: list[str] = []
    targets: list[int] = []
    skipped = 0
    for name in subdirs(folder):
        if not WNID.fullmatch(name):
            log.warning("%s: ignoring folder %s/ (not a WNID)", folder, name)
            continue
        images = list_images(folder / name, recursive=False)
        if name in index:
            sources.extend(str(p) for p in images)
            targets.extend([index[name]] * len(images))
        elif skip_bad:
            skipped += len(images)
        else:
            raise BadInput(folder / name, f"not one of the {len(index)} classes of {synsets.file}")
    return sources, targets, skipped


def from_solution(images: list[Path], csv_path: Path, synsets: Synsets, skip_bad: bool) -> Labelled:
    """Flat Kaggle val images labelled by ``LOC_val_solution.csv`` (ImageId = file name without extension)."""
    labels, skipped = parse_val_solution(csv_path, synsets.index(), skip_bad)
    sources: list[str] = []
    targets: list[int] = []
    for image in images:
        if image.stem in labels:
            label = labels[image.stem]
            if label is not None:  # None: a bad row, already counted
                sources.append(str(image))
                targets.append(label)
        elif skip_bad:
            skipped += 1
        else:
            raise BadInput(csv_path, f"no row for image {image.name} (ImageId {image.stem})")
    return sources, targets, skipped


def from_ground_truth(images: list[Path], gt: Path, synsets: Synsets, skip_bad: bool) -> Labelled:
    """Flat devkit val images: line k of the ground truth labels the k-th image in sorted order.

    When every image has its official name ``ILSVRC2012_val_<k>``, image k reads line k (the same thing on the
    full set), so that with ``skip_bad`` a subset of the images is still labelled right and the rest skipped.
    """
    labels, skipped = parse_ground_truth(gt, synsets.ids, skip_bad)
    if len(labels) != len(images) and not skip_bad:
        raise BadInput(gt, f"{len(labels)} lines for {len(images)} images in {images[0].parent}/ "
                       "(line k labels the k-th image in sorted order)")
    numbers = [val_number(p) for p in images]
    by_number = None not in numbers and len(set(numbers)) == len(numbers)
    sources: list[str] = []
    targets: list[int] = []
    for k, image in enumerate(images):
        line = numbers[k] - 1 if by_number else k  # type: ignore[operator]
        if 0 <= line < len(labels):
            label = labels[line]
            if label is not None:  # None: a bad line, already counted
                sources.append(str(image))
                targets.append(label)
        elif skip_bad:
            skipped += 1
        else:
            raise BadInput(gt, f"no line {line + 1} for image {image.name}")
    return sources, targets, skipped


class ImageNetFormat(DatasetFormat):
    """``imagenet``: ILSVRC2012 as class folders, the official devkit val layout, or Kaggle's LOC release."""

    name = "imagenet"
    description = "ILSVRC2012: train/<wnid>/, val/<wnid>/ or flat val/ + devkit ground truth, or Kaggle LOC"

    def detect(self, path: Path) -> bool:
        path = Path(path)
        if not path.is_dir():
            return False
        if is_kaggle(path):
            return (path / KAGGLE_DATA).is_dir()
        for split in ("train", "val", "test"):
            if any(has_images(path / split / w) for w in wnid_folders(path / split)[:3]):
                return True
        return has_flat_images(path / "val") and find_devkit(path) is not None

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        path, split = Path(path), normalize_split(split)
        skip_bad = bool(options.get("skip_bad", False))
        kaggle = is_kaggle(path)
        devkit = None if kaggle else find_devkit(path)
        if kaggle:
            data, synsets = path / KAGGLE_DATA, parse_synset_mapping(path / KAGGLE_MAPPING)
            if not data.is_dir():
                found = describe_folder(path)
                raise BadInput(path, f"{KAGGLE_MAPPING} found but no {KAGGLE_DATA.as_posix()}/; {found}")
        else:
            meta = devkit / "data" / "meta.mat" if devkit else None
            data, synsets = path, read_meta_mat(meta) if meta and meta.is_file() else None
        folder = data / split
        if not folder.is_dir():
            raise BadInput(data, f"no {split}/ folder; {describe_folder(data)}")
        label_file: Path | None = None
        if wnid_folders(folder):
            if synsets is None:
                found = sorted({w for s in ("train", "val", "test") for w in wnid_folders(data / s)})
                synsets = Synsets.build(dict.fromkeys(found, ""))
            sources, targets, skipped = from_folders(folder, synsets, skip_bad)
            layout = "kaggle" if kaggle else "folders"
        else:
            images = list_images(folder, recursive=False)
            if not images:
                raise BadInput(folder, f"neither <wnid>/ class folders nor images; {describe_folder(folder)}")
            if split == "test":
                raise BadInput(folder, "a flat test/ folder has no labels (ILSVRC2012 test labels are not public)")
            if kaggle:
                label_file, layout = path / KAGGLE_VAL, "kaggle"
                sources, targets, skipped = from_solution(images, label_file, synsets, skip_bad)
            else:
                kit = devkit or path / DEVKIT
                label_file, layout = kit / "data" / GROUND_TRUTH, "devkit"
                if not label_file.is_file():
                    tar = f" (extract {DEVKIT}.tar.gz here)" if (path / f"{DEVKIT}.tar.gz").is_file() else ""
                    raise BadInput(label_file, f"file not found: a flat val/ folder needs the devkit ground truth{tar}")
                if synsets is None:
                    raise BadInput(kit / "data" / "meta.mat", "file not found: it maps the ground truth's "
                                   "ILSVRC2012_IDs to WNIDs")
                sources, targets, skipped = from_ground_truth(images, label_file, synsets, skip_bad)
        if not sources:
            raise BadInput(folder, f"no labelled images ({skipped} skipped)")
        info = DatasetInfo(
            name="ILSVRC2012",
            format=self.name,
            spec=f"{self.name}:{path}",
            split=split,
            classes=synsets.class_names(),
            extra={"wnids": synsets.wnids, "words": synsets.words, "layout": layout},
        )
        files = [f for f in (synsets.file, label_file) if f is not None]
        return RawSplit(info=info, sources=sources, targets=targets, files=files, skipped=skipped)
