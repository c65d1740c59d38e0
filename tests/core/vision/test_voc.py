"""VOC readers of the shared vision layer: detection XML (defusedxml), classification lists, segmentation paths."""

from __future__ import annotations

import pytest

from cvkit.errors import BadInput
from cvkit.vision.voc import (
    VOC_CLASSES,
    image_ids,
    load_voc,
    load_voc_classification,
    read_labelmap,
    segmentation_png,
    year_roots,
)


def xml(objects, size=(500, 375), filename="x.jpg"):
    objs = "".join(
        f"<object><name>{n}</name>{'' if d is None else f'<difficult>{d}</difficult>'}"
        f"<bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
        for n, b, d in objects)
    sz = "" if size is None else f"<size><width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>"
    return f"<annotation><filename>{filename}</filename>{sz}{objs}</annotation>"


def make_voc(root, anns, splits, lists=None):
    """A year folder: ``anns`` {id: xml text}, ``splits`` {split: [ids]}, ``lists`` {(cls, split): [(id, v)]}."""
    for d in ("Annotations", "ImageSets/Main", "JPEGImages"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for image_id, text in anns.items():
        (root / "Annotations" / f"{image_id}.xml").write_text(text)
    for split, ids in splits.items():
        (root / "ImageSets" / "Main" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
    for (cls, split), rows in (lists or {}).items():
        (root / "ImageSets" / "Main" / f"{cls}_{split}.txt").write_text("".join(f"{i} {v:2d}\n" for i, v in rows))
    return root


def test_boxes_flags_and_voc_classes(tmp_path):
    root = make_voc(tmp_path / "VOC2007", {
        "000001": xml([("dog", (48, 240, 195, 371), 0), ("person", (8.5, 12, 352, 498), 1)]),
        "000002": xml([("cat", (1, 1, 10, 10), None)], size=None),
    }, {"train": ["000001", "000002"]}, {("dog", "train"): [("000001", 1), ("000002", -1)]})
    (root / "JPEGImages" / "000001.jpg").write_bytes(b"")
    s = load_voc(tmp_path, "train")  # a VOCdevkit-like parent folder
    assert s.classes == list(VOC_CLASSES) and s.extra["year"] == 2007 and s.format == "voc"
    a, b = s.images[0].objects
    assert a.box == (47.0, 239.0, 195.0, 371.0) and a.label == VOC_CLASSES.index("dog") and not a.difficult
    assert b.box == (7.5, 11.0, 352.0, 498.0) and b.difficult and b.ignored and (a.id, b.id) == (1, 2)
    assert (s.images[0].width, s.images[0].height) == (500, 375) and s.images[1].width == 0
    assert s.images[0].path == str(root / "JPEGImages" / "000001.jpg") and s.images[1].objects[0].box == (0, 0, 10, 10)
    assert s.files[0] == root / "ImageSets" / "Main" / "train.txt" and len(s.files) == 3


def test_custom_classes_combined_roots_and_typos(tmp_path):
    a = make_voc(tmp_path / "A", {"1": xml([("widget", (1, 1, 5, 5), 0)])}, {"val": ["1"]})
    b = make_voc(tmp_path / "B", {"2": xml([("gadget", (1, 1, 5, 5), 0)])}, {"val": ["2"]})
    s = load_voc(f"{a},{b}", "valid")
    assert s.classes == ["gadget", "widget"] and [im.id for im in s.images] == ["1", "2"] and s.split == "val"
    c = make_voc(tmp_path / "C", {"3": xml([("dog", (1, 1, 5, 5), 0), ("persn", (1, 1, 5, 5), 0)])}, {"val": ["3"]})
    with pytest.raises(BadInput, match="unknown class 'persn': not one of the 20 VOC classes; did you mean 'person'") \
            as e:
        load_voc(c, "val")
    assert e.value.where == "object[1].name" and e.value.path.endswith("3.xml")
    assert load_voc(c, "val", classes=["dog"]).images[0].objects[0].id == 1  # fixed classes: others left out


@pytest.mark.parametrize("text, where, reason", [
    (xml([("dog", (5, 5, 1, 9), 0)]), "object[0].bndbox", "smaller than"),
    (xml([("dog", (5, "x", 9, 9), 0)]), "object[0].bndbox.ymin", "not a number"),
    (xml([("dog", (600, 5, 700, 9), 0)]), "object[0].bndbox", "entirely outside"),
    (xml([("dog", (5, 5, 9, 9), 0)], size=(100_000, 100_000)), "size", "exceeds the pixel limit"),
    ("<annotation><object>", "line 1, column 20", "malformed XML"),
    ("<foo/>", None, "root element is <foo>"),
])
def test_bad_xml(tmp_path, text, where, reason):
    root = make_voc(tmp_path / "VOC2012", {"1": text, "2": xml([("dog", (1, 1, 5, 5), 0)])}, {"val": ["1", "2"]})
    with pytest.raises(BadInput, match=reason) as e:
        load_voc(root, "val")
    assert e.value.where == where and e.value.path == str(root / "Annotations" / "1.xml")
    s = load_voc(root, "val", skip_bad=True)
    assert s.skipped == 1 == len(s.bad) and [im.id for im in s.images] == ["2"]


@pytest.mark.parametrize("text", [
    '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx"><!ENTITY y "&x;&x;&x;&x;">]>'
    '<annotation><filename>&y;</filename></annotation>',
    '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><annotation>&x;</annotation>',
])
def test_entities_are_refused(tmp_path, text):
    root = make_voc(tmp_path / "VOC2012", {"1": text}, {"val": ["1"]})
    with pytest.raises(BadInput, match="refused XML"):
        load_voc(root, "val")


def test_missing_split_names_the_others(tmp_path):
    root = make_voc(tmp_path / "VOC2012", {}, {"train": []})
    with pytest.raises(BadInput, match="no split 'test'.*train"):
        image_ids(root, "test")
    with pytest.raises(BadInput, match="not a VOC folder"):
        load_voc(tmp_path / "nothing", "val")


def test_classification_lists(tmp_path):
    root = make_voc(tmp_path / "VOC2007", {}, {"val": ["a", "b", "c"]},
                    {("dog", "val"): [("a", 1), ("b", -1), ("c", 0)], ("cat", "val"): [("a", -1), ("b", 1)]})
    s = load_voc_classification(root, "val")
    assert s.classes == list(VOC_CLASSES)  # the listed classes are VOC classes: all 20, canonical order
    assert [im.labels for im in s.images] == [{"cat": -1, "dog": 1}, {"cat": 1, "dog": -1}, {"dog": 0}]
    (root / "ImageSets" / "Main" / "cat_val.txt").write_text("a 1\nb 2\n")
    with pytest.raises(BadInput, match="expected '<image id> 1|-1|0'") as e:
        load_voc_classification(root, "val")
    assert e.value.where == "line 2"


def test_segmentation_paths_and_labelmap(tmp_path):
    root = tmp_path / "VOC2012"
    for d in ("ImageSets/Segmentation", "SegmentationClass", "SegmentationObject"):
        (root / d).mkdir(parents=True)
    assert year_roots(tmp_path, "Segmentation") == [root] and year_roots(tmp_path) == []
    assert segmentation_png(root, "x") == root / "SegmentationClass" / "x.png"
    assert segmentation_png(root, "x", "object") == root / "SegmentationObject" / "x.png"
    (root / "labelmap.txt").write_text("# label:color_rgb:parts:actions\nbackground:0,0,0::\nroad:::\n")
    assert read_labelmap(root / "labelmap.txt") == (["background", "road"], [[0, 0, 0], [128, 0, 0]])
    (root / "labelmap.txt").write_text("a:1,2::\n")
    with pytest.raises(BadInput, match="not r,g,b") as e:
        read_labelmap(root / "labelmap.txt")
    assert e.value.where == "line 1"
