"""Defect 4: image sizes declared in a COCO JSON are checked (pixel limit) before any label map is allocated, and a
file with an absurd number of categories is refused up front; both through the CLI, one line naming the file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import cvkit


def _coco(tmp_path: Path, width: int, height: int, categories: int = 1) -> Path:
    images = tmp_path / "images"
    images.mkdir()
    cv2.imwrite(str(images / "a.png"), np.zeros((8, 8, 3), np.uint8))
    doc = {"info": {}, "images": [{"id": 1, "file_name": "a.png", "width": width, "height": height}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4], "area": 16,
                            "iscrowd": 0, "segmentation": [[1, 1, 5, 1, 5, 5, 1, 5]]}],
           "categories": [{"id": k + 1, "name": f"c{k}", "supercategory": "x"} for k in range(categories)]}
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(doc))
    (tmp_path / "preds.jsonl").write_text(json.dumps({"source": str(images / "a.png"), "task": "segment",
                                                      "size": [8, 8], "classes": []}) + "\n")
    return ann


def _one_error(proc) -> str:
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert proc.returncode == 1 and len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return errors[0]


def test_a_declared_200000_square_image_fails_fast_naming_the_file(tmp_path: Path) -> None:
    ann = _coco(tmp_path, 200000, 200000)
    start = time.perf_counter()
    proc = cvkit("eval", "segment", "--data", f"coco:{ann}", "--images", str(tmp_path / "images"), "--predictions",
                 str(tmp_path / "preds.jsonl"), timeout=120)
    error = _one_error(proc)
    assert str(ann) in error and "200000x200000" in error and "pixel limit" in error
    assert time.perf_counter() - start < 90  # no 37 GiB label map was attempted


def test_a_file_with_100k_categories_is_refused_up_front(tmp_path: Path) -> None:
    from cvkit.errors import BadInput
    from cvkit_segment.datasets.coco import CocoSegFormat

    ann = _coco(tmp_path, 8, 8, categories=100_000)
    with pytest.raises(BadInput, match=r"ann\.json \(categories\): 100,000 categories"):
        CocoSegFormat().load(ann, "val", {"images": str(tmp_path / "images")})
