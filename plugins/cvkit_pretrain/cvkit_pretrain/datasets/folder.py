"""``imagefolder``: ``root/<split>/<class>/*`` or ``root/<class>/*`` (torchvision's ImageFolder), or any folder of
images without class folders (unlabelled: every label is -1).

Class indices are the positions of the class folder names in sorted order, over the union of the splits (as
torchvision and ``cvkit train classify`` number them). Without split folders every split is the same folder; the
evaluation then holds out a fixed 20 % of it for scoring the probes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cvkit.errors import BadInput
from cvkit.io.walk import walk_files
from cvkit.task import DatasetFormat, DatasetInfo, RawSplit

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
SPLIT_FOLDERS = {"train": ("train",), "val": ("val", "valid", "validation"), "test": ("test",)}


def _subdirs(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as it:
            return sorted(e.name for e in it if not e.name.startswith(".") and e.is_dir())
    except OSError:
        return []


def _images(folder: Path) -> list[str]:
    return [p for p in walk_files(folder, IMAGE_EXTENSIONS) if not Path(p).name.startswith(".")]


def split_folders(root: Path) -> dict[str, Path]:
    """The split folders present in ``root`` (first matching alias per split)."""
    present = set(_subdirs(root))
    return {split: root / next(a for a in aliases if a in present)
            for split, aliases in SPLIT_FOLDERS.items() if any(a in present for a in aliases)}


class ImageFolderFormat(DatasetFormat):
    name = "imagefolder"
    description = "root/<split>/<class>/*.png|jpg (labels from class folders) or any folder of images (no labels)"

    def detect(self, path: Path) -> bool:
        return Path(path).is_dir() and bool(_images(Path(path)))

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        path = Path(path)
        if not path.is_dir():
            raise BadInput(path, "not a folder: expected <split>/<class>/<image> or a folder of images")
        splits = split_folders(path)
        if splits and split not in splits:
            raise BadInput(path, f"no {split} split folder ({' or '.join(SPLIT_FOLDERS.get(split, (split,)))}/)")
        folder = splits.get(split, path)
        roots = list(splits.values()) or [path]
        classes = sorted(set().union(*(_subdirs(r) for r in roots)))
        labelled = bool(classes) and all(not _loose_images(r) for r in roots)
        sources: list[str] = []
        targets: list[int] = []
        if labelled:
            for index, cls in enumerate(classes):
                found = _images(folder / cls) if (folder / cls).is_dir() else []
                sources += found
                targets += [index] * len(found)
        else:
            classes = []
            sources = _images(folder)
            targets = [-1] * len(sources)
        if not sources:
            raise BadInput(folder, "no images (" + ", ".join(e.lstrip(".") for e in IMAGE_EXTENSIONS) + ")")
        info = DatasetInfo(name=path.name or str(path), format=self.name, spec=f"{self.name}:{path}", split=split,
                           classes=classes, extra={"layout": "splits" if splits else "flat",
                                                   "labelled": labelled})
        return RawSplit(info=info, sources=sources, targets=targets)


def _loose_images(folder: Path) -> bool:
    """True when ``folder`` holds images directly (then it is not a folder of class folders)."""
    try:
        with os.scandir(folder) as it:
            return any(e.is_file() and os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS for e in it)
    except OSError:
        return False
