"""Multi-label loaders on real-format fixtures (VOC classification lists, CSV, COCO from shapes) and a VOC
predictions file scored exactly as the devkit scores it."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from cvkit.data import load_split
from cvkit.engine.evaluate import evaluate_predictions
from cvkit.errors import BadInput
from cvkit.plugin import get_task
from cvkit_multilabel.datasets.shapes import ShapesBuiltin
from tests.plugins.multilabel.test_ap import devkit_cls_ap

IDS = ["000005", "000007", "000009", "000012", "000016", "000017"]
DOG = ["1", "-1", "0", "1", "-1", "-1"]
CAT = ["-1", "1", "1", "0", "-1", "1"]


def _voc(root: Path) -> Path:
    year = root / "VOCdevkit" / "VOC2007"
    main = year / "ImageSets" / "Main"
    main.mkdir(parents=True)
    (year / "JPEGImages").mkdir()
    (year / "Annotations").mkdir()  # a VOC release has it; classification reads only the lists
    for i in IDS:
        cv2.imwrite(str(year / "JPEGImages" / f"{i}.jpg"), np.full((8, 8, 3), 90, np.uint8))
    (main / "val.txt").write_text("".join(f"{i}\n" for i in IDS))
    for cls, labels in (("dog", DOG), ("cat", CAT)):
        (main / f"{cls}_val.txt").write_text("".join(f"{i} {v:>2}\n" for i, v in zip(IDS, labels, strict=True)))
    return root / "VOCdevkit"


def test_voc_lists_and_devkit_scoring(tmp_path: Path) -> None:
    task = get_task("multilabel")
    raw = load_split(task, f"voc:{_voc(tmp_path)}", "val")
    assert len(raw.info.classes) == 20
    dog, cat = raw.info.classes.index("dog"), raw.info.classes.index("cat")
    assert [t[dog] for t in raw.targets] == [int(v) for v in DOG]
    assert [t[cat] for t in raw.targets] == [int(v) for v in CAT]
    assert raw.targets[0][0] == 0  # aeroplane has no list: not scored
    # ties, a difficult image ranked first, an image without a record
    dog_s = [0.9, 0.4, 0.95, 0.4, 0.4, None]
    cat_s = [0.2, 0.7, 0.7, 0.99, 0.1, None]
    preds = tmp_path / "preds.jsonl"
    with open(preds, "w") as fh:
        for k, src in enumerate(raw.sources[:5]):
            fh.write(json.dumps({"source": src, "scores": {"dog": dog_s[k], "cat": cat_s[k]}, "labels": []}) + "\n")
    result = evaluate_predictions(task, raw, preds)
    assert result.details["ap_rule"] == "11-point (VOC2007)"  # VOC2007 defaults to the 11-point rule
    want = [devkit_cls_ap([int(v) for v in DOG], dog_s, True), devkit_cls_ap([int(v) for v in CAT], cat_s, True)]
    assert result.details["per_class"]["dog"]["ap"] == want[0]
    assert result.details["per_class"]["cat"]["ap"] == want[1]
    assert result.metrics["mAP"] == np.mean(want)  # classes without a list have no AP and are left out
    assert result.details["per_class"]["dog"]["difficult"] == 1


def _csv_root(tmp_path: Path, rows: str, classes: str | None = None) -> Path:
    root = tmp_path / "csvset"
    (root / "img").mkdir(parents=True)
    for name in ("a", "b", "c"):
        cv2.imwrite(str(root / "img" / f"{name}.png"), np.zeros((4, 4, 3), np.uint8))
    (root / "train.csv").write_text("path,labels\nimg/a.png,dog;hat\nimg/b.png,\n")
    (root / "val.csv").write_text(rows)
    if classes is not None:
        (root / "classes.txt").write_text(classes)
    return root


def test_csv_lists(tmp_path: Path) -> None:
    task = get_task("multilabel")
    root = _csv_root(tmp_path, '"img/c.png",cat;dog\n')
    raw = load_split(task, f"csv:{root}", "valid")
    assert raw.info.classes == ["cat", "dog", "hat"]  # the union over every split, sorted
    assert raw.targets == [[1, 1, -1]] and raw.sources == [str(root / "img" / "c.png")]
    train = load_split(task, str(root), "train")  # detected without the prefix
    assert train.targets == [[-1, 1, 1], [-1, -1, -1]]


def test_csv_bad_rows(tmp_path: Path) -> None:
    task = get_task("multilabel")
    root = _csv_root(tmp_path, "img/c.png,dog\nimg/a.png,zebra\n", classes="dog\nhat\n")
    with pytest.raises(BadInput, match=r"val\.csv \(line 2\): label 'zebra' is not in classes\.txt"):
        load_split(task, f"csv:{root}", "val")
    raw = load_split(task, f"csv:{root}", "val", {"skip_bad": True})
    assert raw.skipped == 1 and raw.targets == [[1, -1]]
    with pytest.raises(BadInput, match="no test.csv"):
        load_split(task, f"csv:{root}", "test")


def test_shapes_as_coco_and_voc_agree(tmp_path: Path) -> None:
    task = get_task("multilabel")
    coco = ShapesBuiltin().write(tmp_path / "c", "coco", 12, 3)
    voc = ShapesBuiltin().write(tmp_path / "v", "voc", 12, 3)
    a, b = load_split(task, coco, "val"), load_split(task, voc, "val")
    assert a.info.classes == b.info.classes == ["circle", "square", "triangle"]
    assert a.targets == b.targets and len(a.targets) == 2
    train = load_split(task, coco, "train")
    assert all(1 in t for t in train.targets)  # every scene shows at least one shape
    assert any(sum(v == 1 for v in t) > 1 for t in train.targets)  # and some show several kinds
