"""VOC and COCO loaders on real-format fixtures written in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cvkit.errors import BadInput
from cvkit_detect.datasets.coco import CocoFormat
from cvkit_detect.datasets.voc import VOC_CLASSES, VocFormat

XML_FULL = """<annotation>
  <folder>VOC2007</folder>
  <filename>000005.jpg</filename>
  <size><width>500</width><height>375</height><depth>3</depth></size>
  <segmented>0</segmented>
  <object>
    <name>chair</name><pose>Rear</pose><truncated>0</truncated><difficult>0</difficult>
    <bndbox><xmin>263</xmin><ymin>211</ymin><xmax>324</xmax><ymax>339</ymax></bndbox>
  </object>
  <object>
    <name>chair</name><pose>Unspecified</pose><truncated>1</truncated><difficult>1</difficult>
    <bndbox><xmin>5</xmin><ymin>244</ymin><xmax>67</xmax><ymax>374</ymax></bndbox>
  </object>
</annotation>
"""
XML_SPARSE = """<annotation>
  <filename>2008_000002.jpg</filename>
  <size><width>400</width><height>300</height></size>
  <object>
    <name>person</name>
    <bndbox><xmin>10.5</xmin><ymin>20.0</ymin><xmax>110.7</xmax><ymax>220</ymax></bndbox>
  </object>
</annotation>
"""


def write_voc(root: Path, files: dict[str, str], splits: dict[str, list[str]]) -> Path:
    for d in ("Annotations", "ImageSets/Main", "JPEGImages"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for image_id, xml in files.items():
        (root / "Annotations" / f"{image_id}.xml").write_text(xml)
    for split, ids in splits.items():
        (root / "ImageSets" / "Main" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
    return root


def test_voc_boxes_flags_and_classes(tmp_path):
    root = write_voc(tmp_path / "VOCdevkit" / "VOC2007", {"000005": XML_FULL, "000007": XML_SPARSE},
                     {"test": ["000005", "000007"]})
    fmt = VocFormat()
    assert fmt.detect(root) and fmt.detect(tmp_path / "VOCdevkit") and not fmt.detect(tmp_path / "nothing")
    raw = fmt.load(root, "test", {})
    assert raw.info.classes == list(VOC_CLASSES) and raw.info.extra["year"] == 2007
    assert raw.sources == [str(root / "JPEGImages" / "000005.jpg"), str(root / "JPEGImages" / "000007.jpg")]
    t0, t1 = raw.targets
    chair = VOC_CLASSES.index("chair")
    # 1-based inclusive (263..324) -> 0-based pixel edges [262, 325)
    np.testing.assert_array_equal(t0["boxes"], [[262, 210, 324, 339], [4, 243, 67, 374]])
    assert t0["labels"].tolist() == [chair, chair] and t0["difficult"].tolist() == [False, True]
    assert t0["size"] == (375, 500) and t0["image_id"] == "000005"
    # missing pose/truncated/difficult, float coordinates
    np.testing.assert_allclose(t1["boxes"], [[9.5, 19.0, 110.7, 220.0]])
    assert t1["difficult"].tolist() == [False] and t1["labels"].tolist() == [VOC_CLASSES.index("person")]
    assert len(raw.files) == 3


def test_voc_combined_roots_and_custom_classes(tmp_path):
    a = write_voc(tmp_path / "VOC2007", {"a": XML_FULL}, {"trainval": ["a"]})
    b = write_voc(tmp_path / "VOC2012", {"b": XML_SPARSE}, {"trainval": ["b"], "val": ["b"]})
    raw = VocFormat().load(Path(f"{a},{b}"), "trainval", {})
    assert len(raw.sources) == 2 and raw.info.extra["years"] == [2007, 2012] and raw.info.name == "VOC2007+VOC2012"
    # a VOCdevkit-like folder: only the years that have the split
    assert VocFormat().load(tmp_path, "val", {}).info.name == "VOC2012"
    custom = XML_SPARSE.replace("person", "widget")
    c = write_voc(tmp_path / "own", {"x": custom}, {"train": ["x"]})
    for cls in ("gadget", "widget"):
        (c / "ImageSets" / "Main" / f"{cls}_train.txt").write_text("x 1\n")
    raw = VocFormat().load(c, "train", {})
    assert raw.info.classes == ["gadget", "widget"] and raw.targets[0]["labels"].tolist() == [1]
    assert raw.info.extra["year"] is None


@pytest.mark.parametrize("xml, where", [
    ("<annotation><object><name>cat</name>", "line"),
    ("<annotation><object><name>cat</name></object></annotation>", "object[0]"),
    ("<annotation><object><name>cat</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>q</xmax><ymax>4</ymax>"
     "</bndbox></object></annotation>", "object[0].bndbox"),
])
def test_voc_malformed(tmp_path, xml, where):
    root = write_voc(tmp_path / "VOC2012", {"bad": xml}, {"train": ["bad"]})
    with pytest.raises(BadInput) as e:
        VocFormat().load(root, "train", {})
    assert e.value.path == str(root / "Annotations" / "bad.xml") and where in (e.value.where or "")


def test_voc_missing_split(tmp_path):
    root = write_voc(tmp_path / "VOC2012", {}, {"train": []})
    with pytest.raises(BadInput, match="no split 'test'.*train"):
        VocFormat().load(root, "test", {})


def coco_doc():
    return {
        "info": {}, "licenses": [],
        "images": [{"id": 42, "file_name": "000000000042.jpg", "height": 480, "width": 640},
                   {"id": 7, "file_name": "000000000007.jpg", "height": 100, "width": 100}],  # no annotations
        "annotations": [
            {"id": 1, "image_id": 42, "category_id": 90, "bbox": [10.5, 20.25, 30.0, 40.0], "area": 900.5,
             "iscrowd": 0, "segmentation": [[10.5, 20.25, 40.5, 20.25, 40.5, 60.25]]},
            {"id": 2, "image_id": 42, "category_id": 1, "bbox": [0, 0, 100, 50], "area": 4000.0, "iscrowd": 1,
             "segmentation": {"size": [480, 640], "counts": [0, 10, 100]}},
        ],
        "categories": [{"id": 90, "name": "toothbrush", "supercategory": "indoor"},
                       {"id": 1, "name": "person", "supercategory": "person"}],
    }


def test_coco_root_layout(tmp_path):
    (tmp_path / "annotations").mkdir()
    (tmp_path / "val2017").mkdir()
    (tmp_path / "annotations" / "instances_val2017.json").write_text(json.dumps(coco_doc()))
    (tmp_path / "val2017" / "000000000042.jpg").write_bytes(b"")
    fmt = CocoFormat()
    assert fmt.detect(tmp_path)
    raw = fmt.load(tmp_path, "valid", {})
    assert raw.info.classes == ["person", "toothbrush"] and raw.info.extra["category_ids"] == [1, 90]
    assert raw.info.extra["image_ids"] == {"000000000042.jpg": 42, "000000000007.jpg": 7}
    assert raw.sources[0] == str(tmp_path / "val2017" / "000000000042.jpg")
    t = raw.targets[0]
    np.testing.assert_allclose(t["boxes"], [[10.5, 20.25, 40.5, 60.25], [0, 0, 100, 50]])
    assert t["labels"].tolist() == [1, 0] and t["iscrowd"].tolist() == [False, True]
    assert t["area"].tolist() == [900.5, 4000.0] and t["size"] == (480, 640) and t["image_id"] == 42
    assert len(raw.targets[1]["boxes"]) == 0 and raw.targets[1]["image_id"] == 7


def test_coco_annotation_file_with_images_option(tmp_path):
    f = tmp_path / "ann" / "mine.json"
    f.parent.mkdir()
    f.write_text(json.dumps(coco_doc()))
    raw = CocoFormat().load(f, "train", {"images": str(tmp_path / "imgs")})
    assert raw.sources[1] == str(tmp_path / "imgs" / "000000000007.jpg")
    assert CocoFormat().load(f, "train", {}).sources[1] == str(f.parent / "000000000007.jpg")


@pytest.mark.parametrize("mutate, where", [
    (lambda d: d["annotations"][1].pop("bbox"), "annotations[1]"),
    (lambda d: d["annotations"][0].update(category_id=5), "annotations[0].category_id"),
    (lambda d: d["annotations"][0].update(bbox=[1, 2, 3]), "annotations[0].bbox"),
    (lambda d: d["images"][1].pop("file_name"), "images[1]"),
    (lambda d: d.pop("categories"), "top level"),
])
def test_coco_malformed_fields(tmp_path, mutate, where):
    d = coco_doc()
    mutate(d)
    f = tmp_path / "x.json"
    f.write_text(json.dumps(d))
    with pytest.raises(BadInput) as e:
        CocoFormat().load(f, "val", {})
    assert e.value.path == str(f) and e.value.where == where


def test_coco_malformed_json(tmp_path):
    f = tmp_path / "x.json"
    f.write_text('{"images": [}')
    with pytest.raises(BadInput, match="malformed JSON") as e:
        CocoFormat().load(f, "val", {})
    assert e.value.path == str(f) and "line 1" in e.value.where
