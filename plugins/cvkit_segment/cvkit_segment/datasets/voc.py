"""PASCAL VOC segmentation layout (VOC2012 ``SegmentationClass``) and datasets written the same way.

``--data voc:ROOT`` where ROOT is a year folder (``VOCdevkit/VOC2012``) holding ``ImageSets/Segmentation/<split>.txt``
(one image id a line), ``JPEGImages/<id>.jpg`` and ``SegmentationClass/<id>.png``, or a ``VOCdevkit`` folder (its
year folders that have the split are combined). Label PNGs are palette images read as class indices, never converted
to RGB; 255 is void (object borders, ambiguous pixels), ignored by the loss and the metric.

Classes: the 21 VOC classes (0 = background) unless ROOT has a ``labelmap.txt`` as CVAT and Datumaro write it
(``name:r,g,b:parts:actions`` a line, ``#`` comments; line order = class index, colours = the palette). Only the
split file is read here, and the existence of each label file checked; label PNGs are decoded when needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.errors import BadInput
from cvkit.task import DatasetFormat, DatasetInfo, RawSplit
from cvkit_segment.datasets.target import png_target
from cvkit_segment.palette import VOC_CLASSES, voc_colormap

SPLIT_ALIASES = {"valid": "val", "validation": "val"}


def _is_year_root(p: Path) -> bool:
    return (p / "ImageSets" / "Segmentation").is_dir() and (p / "SegmentationClass").is_dir()


def year_roots(path: Path) -> list[Path]:
    path = Path(path)
    if _is_year_root(path):
        return [path]
    if path.is_dir():
        return sorted(c for c in path.iterdir() if c.is_dir() and _is_year_root(c))
    return []


def read_labelmap(f: Path) -> tuple[list[str], list[list[int]]]:
    """Class names and RGB colours of a CVAT/Datumaro ``labelmap.txt`` (missing colours: the VOC colour map)."""
    cmap = voc_colormap()
    names: list[str] = []
    colours: list[list[int]] = []
    for lineno, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        colour = rest.partition(":")[0].strip()
        if not name:
            raise BadInput(f, "empty class name", where=f"line {lineno}")
        if colour:
            try:
                rgb = [int(v) for v in colour.split(",")]
                if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
                    raise ValueError
            except ValueError:
                raise BadInput(f, f"colour {colour!r} is not r,g,b in 0..255", where=f"line {lineno}") from None
        else:
            rgb = [int(v) for v in cmap[len(names)]]
        names.append(name.strip())
        colours.append(rgb)
    if not names:
        raise BadInput(f, "no class in the label map")
    if len(names) > 255:
        raise BadInput(f, f"{len(names)} classes: a palette PNG holds at most 255 (255 is void)")
    return names, colours


def split_ids(root: Path, split: str) -> tuple[Path, list[str]]:
    f = root / "ImageSets" / "Segmentation" / f"{split}.txt"
    if not f.is_file():
        have = sorted(p.stem for p in (root / "ImageSets" / "Segmentation").glob("*.txt"))
        raise BadInput(f, f"no split {split!r} (splits here: {', '.join(have) or 'none'})")
    return f, [line.split()[0] for line in f.read_text().splitlines() if line.strip()]


def image_path(root: Path, image_id: str) -> Path:
    jpg = root / "JPEGImages" / f"{image_id}.jpg"
    if jpg.exists():
        return jpg
    others = sorted((root / "JPEGImages").glob(f"{image_id}.*"))
    return others[0] if others else jpg


class VocSegFormat(DatasetFormat):
    name = "voc"
    description = "PASCAL VOC segmentation (ImageSets/Segmentation/, JPEGImages/, SegmentationClass/ palette PNGs)"

    def detect(self, path: Path) -> bool:
        return bool(year_roots(path))

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        split = SPLIT_ALIASES.get(split, split)
        roots = year_roots(path)
        if not roots:
            raise BadInput(path, "not a VOC segmentation folder (expected ImageSets/Segmentation/ and "
                           "SegmentationClass/ in it or in VOC*/)")
        if len(roots) > 1:
            roots = [r for r in roots if (r / "ImageSets" / "Segmentation" / f"{split}.txt").is_file()] or roots
        labelmap = roots[0] / "labelmap.txt"
        if labelmap.is_file():
            classes, colours = read_labelmap(labelmap)
        else:
            classes, colours = list(VOC_CLASSES), [[int(v) for v in c] for c in voc_colormap(len(VOC_CLASSES))]
        sources, targets, files, skipped = [], [], [], 0
        for root in roots:
            f, ids = split_ids(root, split)
            files.append(f)
            for image_id in ids:
                label = root / "SegmentationClass" / f"{image_id}.png"
                if not label.is_file():
                    if options.get("skip_bad"):
                        skipped += 1
                        continue
                    raise BadInput(label, f"label image of {image_id!r} (listed in {f.name}) not found")
                sources.append(str(image_path(root, image_id)))
                targets.append(png_target(label))
                files.append(label)
        info = DatasetInfo(
            name="+".join(r.name for r in roots), format="voc", spec=f"voc:{path}", split=split, classes=classes,
            extra={"colours": colours},
        )
        return RawSplit(info, sources, targets, files, skipped)
