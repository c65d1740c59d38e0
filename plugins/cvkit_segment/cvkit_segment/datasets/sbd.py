"""The Semantic Boundaries Dataset (SBD, Hariharan et al. 2011), the usual augmentation of VOC2012 segmentation.

``--data sbd:ROOT`` where ROOT is ``benchmark_RELEASE/dataset`` (or ``benchmark_RELEASE``) holding ``img/<id>.jpg``,
``cls/<id>.mat`` (MATLAB struct ``GTcls`` whose ``Segmentation`` field is the class-index map, 0 = background,
1..20 the VOC classes) and the split files ``train.txt``, ``val.txt`` (and ``train_noval.txt`` where present).
SBD has no void label. The ``.mat`` files are read (scipy) when a sample is needed, not here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.data import normalize_split
from cvkit.errors import BadInput
from cvkit_segment.datasets.target import sbd_target
from cvkit_segment.palette import VOC_CLASSES, voc_colormap


def sbd_root(path: Path) -> Path | None:
    path = Path(path)
    for p in (path, path / "dataset"):
        if (p / "cls").is_dir() and (p / "img").is_dir():
            return p
    return None


class SbdFormat(DatasetFormat):
    name = "sbd"
    description = "SBD benchmark_RELEASE/dataset: img/, cls/*.mat (GTcls.Segmentation), train.txt, val.txt"

    def detect(self, path: Path) -> bool:
        return sbd_root(path) is not None

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        split = normalize_split(split)
        root = sbd_root(path)
        if root is None:
            raise BadInput(path, "not an SBD folder (expected img/ and cls/ in it or in dataset/)")
        f = root / f"{split}.txt"
        if not f.is_file():
            have = sorted(p.stem for p in root.glob("*.txt"))
            raise BadInput(f, f"no split {split!r} (splits here: {', '.join(have) or 'none'})")
        sources, targets, files, skipped = [], [], [f], 0
        for image_id in (line.split()[0] for line in f.read_text().splitlines() if line.strip()):
            mat = root / "cls" / f"{image_id}.mat"
            if not mat.is_file():
                if options.get("skip_bad"):
                    skipped += 1
                    continue
                raise BadInput(mat, f"label file of {image_id!r} (listed in {f.name}) not found")
            sources.append(str(root / "img" / f"{image_id}.jpg"))
            targets.append(sbd_target(mat))
        colours = [[int(v) for v in c] for c in voc_colormap(len(VOC_CLASSES))]
        info = DatasetInfo(name="SBD", format="sbd", spec=f"sbd:{path}", split=split, classes=list(VOC_CLASSES),
                           extra={"colours": colours})
        return RawSplit(info, sources, targets, files, skipped)
