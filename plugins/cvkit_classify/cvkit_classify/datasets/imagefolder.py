"""ImageFolder: one folder per class, optionally one folder per split (torchvision's convention).

Two layouts are read::

    root/<split>/<class>/<image>     split folders: train/, val/ (or valid/, validation/), test/
    root/<class>/<image>             flat: no split folders

Class indices follow torchvision's ``ImageFolder``: the position of the folder name in sorted order. With split
folders the classes are the sorted union of the class folders of every split, so that a class missing from one
split does not shift the indices of the others. Images are found recursively inside each class folder and listed in
torchvision's order (sorted folder, then sorted file name); extensions are matched case-insensitively and hidden
files (``.name``, e.g. macOS ``._x.jpg``) are ignored. A dataset with a class folder literally named ``train``,
``val``, ``valid``, ``validation`` or ``test`` is taken for a split layout.

This module also holds the small helpers the other formats of the plugin share (splits, image listing).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.errors import BadInput, UsageError
from cvkit.io.walk import iter_files

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"})
SPLITS = ("train", "val", "test")
SPLIT_FOLDERS = {"train": ("train",), "val": ("val", "valid", "validation"), "test": ("test",)}


def normalize_split(split: str) -> str:
    """``train``, ``val`` or ``test``; ``valid`` and ``validation`` mean ``val``."""
    name = split.strip().lower()
    name = {"valid": "val", "validation": "val"}.get(name, name)
    if name not in SPLITS:
        raise UsageError(f"unknown split {split!r}: choose train, val (or valid) or test")
    return name


def is_image_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def subdirs(folder: Path) -> list[str]:
    """Sorted names of the non-hidden folders directly in ``folder`` (empty when it is not a folder)."""
    try:
        with os.scandir(folder) as it:
            return sorted(e.name for e in it if not e.name.startswith(".") and e.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def list_images(folder: Path, recursive: bool = True) -> list[Path]:
    """Image files under ``folder`` in a deterministic order (by folder, then file name)."""
    found = iter_files(folder, IMAGE_EXTENSIONS, skip_hidden=True, recursive=recursive)  # no link loops
    return [Path(d, f) for d, f in sorted(os.path.split(p) for p in found)]


def has_images(folder: Path) -> bool:
    """True as soon as one image is found under ``folder`` (stops early on big trees)."""
    return next(iter_files(folder, IMAGE_EXTENSIONS, quiet=True, skip_hidden=True), None) is not None


def describe_folder(folder: Path, limit: int = 12) -> str:
    """What a folder holds, for error messages: ``found: a/, b/, c.txt`` (truncated)."""
    try:
        names = sorted(e.name + ("/" if e.is_dir() else "") for e in os.scandir(folder))
    except OSError:
        return "the folder does not exist" if not folder.exists() else "the folder cannot be read"
    if not names:
        return "the folder is empty"
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return "found: " + ", ".join(names[:limit]) + more


def split_folders(root: Path) -> dict[str, Path]:
    """The split folders present in ``root`` (first matching alias per split)."""
    present = set(subdirs(root))
    found: dict[str, Path] = {}
    for split, aliases in SPLIT_FOLDERS.items():
        for alias in aliases:
            if alias in present:
                found[split] = root / alias
                break
    return found


def dataset_name(path: Path) -> str:
    return path.name or path.resolve().name or str(path)


class ImageFolderFormat(DatasetFormat):
    """``imagefolder``: ``root/<split>/<class>/*`` or a flat ``root/<class>/*``.

    In the flat layout there are no split folders, so the same folder serves every split requested (train, val and
    test all load the same images): keep a separate folder per split to evaluate on held-out data.
    """

    name = "imagefolder"
    description = "root/<split>/<class>/*.jpg|png|... (or a flat root/<class>/*), torchvision ImageFolder"

    def detect(self, path: Path) -> bool:
        if not path.is_dir():
            return False
        roots = list(split_folders(path).values()) or [path]
        return any(has_images(root / c) for root in roots for c in subdirs(root))

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        split = normalize_split(split)
        path = Path(path)
        if not path.is_dir():
            raise BadInput(path, "not a folder: an ImageFolder dataset is a folder of class folders")
        splits = split_folders(path)
        if splits:
            if split not in splits:
                wanted = " or ".join(f"{a}/" for a in SPLIT_FOLDERS[split])
                raise BadInput(path, f"no {split} split folder ({wanted}); {describe_folder(path)}")
            folder, roots, layout = splits[split], list(splits.values()), "splits"
        else:
            folder, roots, layout = path, [path], "flat"
        classes = sorted(set().union(*(subdirs(r) for r in roots)))
        if not classes:
            raise BadInput(folder, f"no class folders (expected <class>/<image> inside); {describe_folder(folder)}")
        sources: list[str] = []
        targets: list[int] = []
        for index, cls in enumerate(classes):
            for image in list_images(folder / cls):
                sources.append(str(image))
                targets.append(index)
        if not sources:
            exts = ", ".join(sorted(e.lstrip(".") for e in IMAGE_EXTENSIONS))
            raise BadInput(folder, f"no images ({exts}) in any of the {len(classes)} class folders")
        info = DatasetInfo(
            name=dataset_name(path),
            format=self.name,
            spec=f"{self.name}:{path}",
            split=split,
            classes=classes,
            extra={"layout": layout},
        )
        return RawSplit(info=info, sources=sources, targets=targets)
