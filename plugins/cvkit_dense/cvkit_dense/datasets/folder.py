"""``depthfolder``: a folder of images with 16-bit depth PNGs (and optionally normals) of the same names::

    DIR/depth.json                      optional: {"depth_scale": 1000, "crop": "none", "max_depth": null}
    DIR/<split>/images/<name>.png|jpg   RGB images (split: train, val, test)
    DIR/<split>/depth/<name>.png        16-bit, metres = value / depth_scale (default 1000: millimetres), 0 = none
                                        (or <name>.npy: float metres, 0 or NaN = none)
    DIR/<split>/normals/<name>.png      optional 16-bit RGB, n = value / 65535 * 2 - 1, (0,0,0) = none (or .npy)

A folder with ``images/`` and ``depth/`` directly under DIR (no split folders) serves every split. ``crop``
(``none``, ``eigen-nyu``, ``garg``, ``eigen-kitti``) and ``max_depth`` (metres; the evaluation cap) configure the
evaluation, as for the real datasets. An image without a depth map is an error naming it (or, with --skip-bad, is
left out and counted).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.errors import BadInput, CvkitError
from cvkit.io.imagesize import IMAGE_EXTENSIONS, declared_size
from cvkit.io.walk import walk_files

CONFIG = "depth.json"
CROPS = ("none", "eigen-nyu", "garg", "eigen-kitti")


def read_config(root: Path) -> dict[str, Any]:
    path = root / CONFIG
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(path, f"not readable JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise BadInput(path, "expected a JSON object")
    if doc.get("crop", "none") not in CROPS:
        raise BadInput(path, f"crop {doc['crop']!r}: expected one of {', '.join(CROPS)}", where="crop")
    for key in ("depth_scale", "max_depth"):
        if doc.get(key) is not None and not (isinstance(doc[key], (int, float)) and doc[key] > 0):
            raise BadInput(path, f"{key} must be a positive number", where=key)
    return doc


def image_size(path: str) -> list[int]:
    """``[height, width]`` of an image file (the loaders record the dataset's aspect ratio): from its header when
    the format declares one (no decoding, no torch: ``eval --predictions``), else decoded once."""
    try:
        with open(path, "rb") as fh:
            size = declared_size(fh.read(1 << 20))
    except OSError:
        size = None
    if size is not None and size[0] > 0 and size[1] > 0:
        return [int(size[1]), int(size[0])]
    from cvkit.io.images import read_image

    img = read_image(path)
    return [int(img.shape[-2]), int(img.shape[-1])]


def _by_stem(folder: Path, extensions: tuple[str, ...]) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {Path(f).stem: f for f in walk_files(folder, extensions=extensions, quiet=True)
            if Path(f).parent == folder}


class DepthFolderFormat(DatasetFormat):
    name = "depthfolder"
    description = "DIR/<split>/{images,depth[,normals]}/ with 16-bit depth PNGs of the same names"

    def detect(self, path: Path) -> bool:
        path = Path(path)
        if (path / "images").is_dir() and (path / "depth").is_dir():
            return True
        return any((path / s / "images").is_dir() and (path / s / "depth").is_dir() for s in ("train", "val", "test"))

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        root = Path(path)
        cfg = read_config(root)
        folder = root / split if (root / split / "images").is_dir() else root
        if folder == root and not (root / "images").is_dir():
            found = [s for s in ("train", "val", "test") if (root / s / "images").is_dir()]
            raise CvkitError(f"{root}: no split {split!r} (found: {', '.join(found) or 'none'})")
        images = _by_stem(folder / "images", IMAGE_EXTENSIONS)
        depths = _by_stem(folder / "depth", (".png", ".npy"))
        normals = _by_stem(folder / "normals", (".png", ".npy"))
        scale = float(cfg.get("depth_scale", 1000.0))
        sources, targets, skipped = [], [], 0
        for stem in sorted(images):
            if stem not in depths:
                if options.get("skip_bad"):
                    skipped += 1
                    continue
                raise BadInput(images[stem], f"no depth map {stem}.png or {stem}.npy in {folder / 'depth'}")
            sources.append(images[stem])
            targets.append({"depth": depths[stem], "scale": scale, "normals": normals.get(stem)})
        if not sources:
            raise CvkitError(f"{folder}: no image with a depth map in images/ and depth/")
        extra = {"crop": cfg.get("crop", "none"), "max_depth": cfg.get("max_depth"),
                 "normals": all(t["normals"] for t in targets), "image_size": image_size(sources[0])}
        info = DatasetInfo(root.name, self.name, f"{self.name}:{root}", split, [], extra)
        files = [root / CONFIG] if (root / CONFIG).is_file() else []
        return RawSplit(info, sources, targets, files + [Path(t["depth"]) for t in targets], skipped)
