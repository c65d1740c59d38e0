"""One annotation schema for every image task: an :class:`AnnotationSet` of :class:`ImageAnnotation` records, each
with its :class:`ObjectAnnotation` list, in original image coordinates.

Boxes are XYXY in 0-based pixel-edge coordinates: a box covering pixel columns ``a..b`` (0-based, inclusive) spans
``x1 = a`` to ``x2 = b + 1``. A VOC box ``xmin..xmax`` (1-based, inclusive) is therefore ``[xmin - 1, ymin - 1, xmax,
ymax]`` and a COCO ``[x, y, w, h]`` is ``[x, y, x + w, y + h]`` (the convention of Detectron2). COCO's own numbers are
kept beside it (``bbox_xywh``, ``area``) so that scoring reproduces pycocotools exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cvkit.errors import BadInput


@dataclass
class ObjectAnnotation:
    """One object. ``label`` indexes the set's ``classes``; ``category_id`` is the file's own id (COCO)."""

    box: tuple[float, float, float, float]
    label: int
    category_id: int | None = None
    iscrowd: bool = False
    area: float | None = None
    segmentation: list[list[float]] | dict[str, Any] | None = None
    keypoints: list[float] | None = None
    difficult: bool = False
    id: int | str | None = None
    bbox_xywh: tuple[float, float, float, float] | None = None
    num_keypoints: int | None = None  # COCO's field (pycocotools ignores people with 0); None when not given

    @property
    def ignored(self) -> bool:
        """Metrics ignore the object and training leaves it out (VOC difficult, COCO crowd)."""
        return self.difficult or self.iscrowd

    def region_area(self) -> float:
        """The area COCOeval uses for its size ranges: COCO's ``area`` when given, else the box area."""
        if self.area is not None:
            return float(self.area)
        x1, y1, x2, y2 = self.box
        return max(x2 - x1, 0.0) * max(y2 - y1, 0.0)


@dataclass
class ImageAnnotation:
    """One image: ``width``/``height`` as declared by the annotations (0 when unknown)."""

    id: int | str
    path: str
    width: int = 0
    height: int = 0
    objects: list[ObjectAnnotation] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        """The image's name as the annotations give it (COCO ``file_name``; VOC ``<id>.jpg``)."""
        return str(self.extra.get("file_name") or Path(self.path).name)


@dataclass
class AnnotationSet:
    """A split of a dataset: images, the class list (``label`` -> name) and the files it was read from.

    ``skipped`` counts bad entries left out under ``skip_bad`` and ``bad`` holds their errors (empty otherwise: the
    first bad entry raises)."""

    name: str
    format: str
    split: str
    images: list[ImageAnnotation] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    category_ids: list[int] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    skipped: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    bad: list[BadInput] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    def image_ids(self) -> dict[str, int | str]:
        """Image id by file name (the base name), to match predictions made on image files."""
        return {Path(im.file_name).name: im.id for im in self.images}

    def category_index(self) -> dict[int, int]:
        """Contiguous label by the file's category id."""
        return {c: i for i, c in enumerate(self.category_ids)}
