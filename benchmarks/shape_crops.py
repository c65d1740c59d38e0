"""Single-object crops of the embedded shapes scenes as an ImageFolder (``train/`` and ``val/``, one folder per
class: circle, square, triangle), for comparing single-label classifiers (sift-bow, softmax, SVM, k-NN) on
something other than digits.

    python benchmarks/shape_crops.py OUT [--scenes 1000] [--seed 0]
    cvkit train classify --model sift-bow --data imagefolder:OUT --img-size 32

Each crop is the object's box plus a 4-px margin, from 128-px scenes (1,000 training and 200 validation scenes
give about 3,000 crops). Objects overlap in some scenes, so a crop may show part of a neighbour.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import cv2

from cvkit.vision.shapes import write_shapes

MARGIN = 4


def write_crops(scenes: Path, out: Path) -> int:
    """Crop every annotated object of the COCO-format ``scenes`` into ``out/<split>/<class>/<id>.png``."""
    count = 0
    for split in ("train", "val"):
        doc = json.loads((scenes / "annotations" / f"instances_{split}2017.json").read_text())
        names = {c["id"]: c["name"] for c in doc["categories"]}
        files = {i["id"]: i["file_name"] for i in doc["images"]}
        for ann in doc["annotations"]:
            image = cv2.imread(str(scenes / f"{split}2017" / files[ann["image_id"]]))
            x, y, w, h = ann["bbox"]
            x0, y0 = max(0, int(x) - MARGIN), max(0, int(y) - MARGIN)
            crop = image[y0:int(y + h) + MARGIN, x0:int(x + w) + MARGIN]
            folder = out / split / names[ann["category_id"]]
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{ann['id']:06d}.png"), crop)
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--scenes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.out.exists():
        sys.exit(f"{args.out}: already exists (choose a new folder)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.out.parent, prefix=f".{args.out.name}.") as tmp:
        scenes = write_shapes(Path(tmp) / "scenes", args.scenes, args.seed, fmt="coco", image_size=128,
                              val_size=args.scenes // 5)
        n = write_crops(scenes, Path(tmp) / "crops")
        shutil.rmtree(scenes)
        os.replace(Path(tmp) / "crops", args.out)  # published whole, or not at all
    print(f"{n} crops in {args.out}")


if __name__ == "__main__":
    main()
