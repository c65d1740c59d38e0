"""Karpathy's split file ``dataset_coco.json`` (also flickr8k/30k): images with ``split`` and ``sentences``.

Image paths are ``<images root>/<filepath>/<filename>`` where the root is ``--images`` or the folder of the JSON
file; split ``train`` includes ``restval`` (as in the usual training recipes); ``val`` and ``test`` are 5,000
images each for COCO. Each sentence's ``raw`` text is the reference (its ``tokens`` when ``raw`` is absent).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.errors import BadInput
from cvkit.vision.coco import read_json

SPLITS = {"train": ("train", "restval"), "val": ("val",), "test": ("test",), "restval": ("restval",)}


def _file(path: Path) -> Path:
    if path.is_dir():
        found = sorted(path.glob("dataset_*.json"))
        if not found:
            raise BadInput(path / "dataset_coco.json", "no Karpathy split file (dataset_*.json)")
        return found[0]
    return path


class KarpathyFormat(DatasetFormat):
    name = "karpathy"
    description = "Karpathy split JSON (dataset_coco.json) with image files under --images or beside it"

    def detect(self, path: Path) -> bool:
        try:
            f = _file(path)
        except BadInput:
            return False
        return f.suffix == ".json" and f.name.startswith("dataset_")

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        from cvkit_caption.datasets import caption_extra

        f = _file(path)
        if split not in SPLITS:
            raise BadInput(f, f"unknown split {split!r} (choose from {', '.join(SPLITS)})")
        doc = read_json(f)
        if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
            raise BadInput(f, "expected an object with an 'images' list (Karpathy split format)")
        root = Path(options.get("images") or f.parent)
        sources, captions, ids, skipped = [], [], {}, 0
        for j, im in enumerate(doc["images"]):
            try:
                if im["split"] not in SPLITS[split]:
                    continue
                refs = [s["raw"] if "raw" in s else " ".join(s["tokens"]) for s in im["sentences"]]
                if not refs or not all(isinstance(r, str) for r in refs):
                    raise ValueError("no sentences")
                name = str(im["filename"])
                src = root / str(im.get("filepath", "")) / name
                image_id = im.get("cocoid", im.get("imgid", j))
            except (KeyError, TypeError, ValueError) as exc:
                if options.get("skip_bad"):
                    skipped += 1
                    continue
                raise BadInput(f, f"bad image entry ({type(exc).__name__}: {exc})", where=f"images[{j}]") from None
            sources.append(str(src))
            captions.append(refs)
            ids[name] = image_id
        if not sources:
            raise BadInput(f, f"no image in split {split!r}")
        info = DatasetInfo(f.stem, "karpathy", f"karpathy:{path}", split, [], caption_extra(captions, ids, False))
        return RawSplit(info, sources, captions, [f], skipped)
