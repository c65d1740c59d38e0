"""COCO captions: ``annotations/captions_<split>2017.json`` (or 2014) and the images, read by the core loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.errors import BadInput
from cvkit.vision.coco import is_coco, load_coco
from cvkit.vision.scenes import DESCRIPTION


class CocoCaptionsFormat(DatasetFormat):
    name = "coco"
    description = "COCO captions: annotations/captions_<split>2017.json + <split>2017/ (or an annotation file)"

    def detect(self, path: Path) -> bool:
        return is_coco(path, kind="captions")

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        from cvkit_caption.datasets import caption_extra

        ann = load_coco(path, split, kind="captions", images=options.get("images"),
                        skip_bad=bool(options.get("skip_bad")))
        images = [im for im in ann.images if im.captions]
        if not images:
            raise BadInput(ann.files[0] if ann.files else path, f"no captioned image in split {split!r}")
        captions = [list(im.captions) for im in images]
        info_doc = ann.extra.get("info") or {}
        scenes = isinstance(info_doc, dict) and info_doc.get("description") == DESCRIPTION
        ids = {Path(im.path).name: im.id for im in images}
        info = DatasetInfo(ann.name, "coco", f"coco:{path}", split, [], caption_extra(captions, ids, scenes))
        return RawSplit(info, [im.path for im in images], captions, list(ann.files), ann.skipped)
