"""``kitti``: KITTI depth ground truth (16-bit PNG, metres = value / 256, 0 = no ground truth). Two layouts:

- the annotated depth maps (``data_depth_annotated``)::

      ROOT/{train,val}/<date>_drive_<nnnn>_sync/proj_depth/groundtruth/image_0{2,3}/<frame>.png

  with the RGB frames of KITTI raw, looked up in ``--images DIR`` or ``ROOT/raw`` as
  ``<date>/<date>_drive_<nnnn>_sync/image_0{2,3}/data/<frame>.png`` (the ``<date>/`` level is optional);
- the selected validation set (``depth_selection/val_selection_cropped``): ``image/X_image_F_image_0C.png`` beside
  ``groundtruth_depth/X_groundtruth_depth_F_image_0C.png`` (every split reads it).

Evaluation defaults: Garg crop, depths capped at 80 m (monodepth2's protocol).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.errors import BadInput, CvkitError
from cvkit.io.walk import walk_files
from cvkit_dense.datasets.folder import image_size

SCALE = 256.0
EXTRA = {"crop": "garg", "max_depth": 80.0, "normals": False}


def _selection(root: Path) -> Path | None:
    for cand in (root, root / "val_selection_cropped", root / "depth_selection" / "val_selection_cropped"):
        if (cand / "groundtruth_depth").is_dir() and (cand / "image").is_dir():
            return cand
    return None


def _raw_image(roots: list[Path], drive: str, camera: str, frame: str) -> Path | None:
    for root in roots:
        for cand in (root / drive[:10] / drive / camera / "data" / frame, root / drive / camera / "data" / frame):
            if cand.is_file():
                return cand
    return None


class KittiDepthFormat(DatasetFormat):
    name = "kitti"
    description = "KITTI depth: data_depth_annotated (+ raw images) or depth_selection/val_selection_cropped"

    def detect(self, path: Path) -> bool:
        path = Path(path)
        if _selection(path) is not None:
            return True
        return any(p.is_dir() and (p / "proj_depth").is_dir()
                   for s in ("train", "val") if (path / s).is_dir() for p in (path / s).iterdir())

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        root = Path(path)
        sel = _selection(root)
        pairs = self._selection_pairs(sel, options) if sel is not None else self._annotated_pairs(root, split, options)
        skipped = pairs.pop()
        if not pairs:
            raise CvkitError(f"{root}: no KITTI depth ground truth for split {split!r}")
        sources = [str(img) for img, _ in pairs]
        targets = [{"depth": str(gt), "scale": SCALE, "normals": None} for _, gt in pairs]
        extra = {**EXTRA, "image_size": image_size(sources[0])}
        info = DatasetInfo("kitti", self.name, f"{self.name}:{root}", split, [], extra)
        return RawSplit(info, sources, targets, [Path(t["depth"]) for t in targets], skipped)

    @staticmethod
    def _selection_pairs(sel: Path, options: dict[str, Any]) -> list:
        pairs: list = []
        skipped = 0
        for gt in walk_files(sel / "groundtruth_depth", extensions=(".png",), quiet=True):
            img = sel / "image" / Path(gt).name.replace("_groundtruth_depth_", "_image_")
            if not img.is_file():
                if options.get("skip_bad"):
                    skipped += 1
                    continue
                raise BadInput(gt, f"no image {img.name} in {sel / 'image'}")
            pairs.append((img, Path(gt)))
        return [*pairs, skipped]

    @staticmethod
    def _annotated_pairs(root: Path, split: str, options: dict[str, Any]) -> list:
        folder = root / ("val" if split in ("val", "test") else split)
        if not folder.is_dir():
            raise CvkitError(f"{root}: no {folder.name}/ folder of annotated depth maps")
        roots = [Path(options["images"])] if options.get("images") else []
        roots += [root / "raw", root.parent / "raw"]
        pairs: list = []
        skipped = 0
        for gt in walk_files(folder, extensions=(".png",), quiet=True):
            parts = Path(gt).relative_to(folder).parts
            if len(parts) != 5 or parts[1:3] != ("proj_depth", "groundtruth"):
                continue
            drive, camera, frame = parts[0], parts[3], parts[4]
            img = _raw_image(roots, drive, camera, frame)
            if img is None:
                if options.get("skip_bad"):
                    skipped += 1
                    continue
                raise BadInput(gt, f"no raw image {drive}/{camera}/data/{frame} under "
                               f"{', '.join(str(r) for r in roots)} (pass --images KITTI_RAW_DIR)")
            pairs.append((img, Path(gt)))
        return [*pairs, skipped]
