"""COCO readers of the shared vision layer: instances, person keypoints and captions, with their bad-input policy."""

from __future__ import annotations

import json

import pytest

from cvkit.errors import BadInput
from cvkit.vision.coco import coco_annotation_file, is_coco, load_coco, read_json
from cvkit.vision.cocoparse import MAX_CATEGORIES


def instances_doc():
    return {
        "info": {}, "licenses": [],
        "images": [{"id": 42, "file_name": "000000000042.jpg", "height": 480, "width": 640},
                   {"id": 7, "file_name": "000000000007.jpg", "height": 100, "width": 100}],  # no annotations
        "annotations": [
            {"id": 1, "image_id": 42, "category_id": 90, "bbox": [10.5, 20.25, 30.1, 40.0], "area": 900.5,
             "iscrowd": 0, "segmentation": [[10.5, 20.25, 40.5, 20.25, 40.5, 60.25]]},
            {"id": 2, "image_id": 42, "category_id": 1, "bbox": [0, 0, 100, 50], "iscrowd": 1,
             "segmentation": {"size": [480, 640], "counts": [0, 10, 100]}},
        ],
        "categories": [{"id": 90, "name": "toothbrush", "supercategory": "indoor"},
                       {"id": 1, "name": "person", "supercategory": "person"}],
    }


def write(path, doc):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def test_instances_root_layout(tmp_path):
    write(tmp_path / "annotations" / "instances_val2017.json", instances_doc())
    (tmp_path / "val2017").mkdir()
    (tmp_path / "val2017" / "000000000042.jpg").write_bytes(b"")
    assert is_coco(tmp_path) and not is_coco(tmp_path, "captions")
    s = load_coco(tmp_path, "valid")
    assert (s.format, s.split, s.name) == ("coco", "val", "instances_val2017")
    assert s.classes == ["person", "toothbrush"] and s.category_ids == [1, 90]
    assert s.files == [tmp_path / "annotations" / "instances_val2017.json"] and s.skipped == 0
    assert s.image_ids() == {"000000000042.jpg": 42, "000000000007.jpg": 7}
    im = s.images[0]
    assert im.path == str(tmp_path / "val2017" / "000000000042.jpg") and (im.width, im.height) == (640, 480)
    a, b = im.objects
    assert a.box == (10.5, 20.25, 10.5 + 30.1, 60.25) and a.bbox_xywh == (10.5, 20.25, 30.1, 40.0)
    assert (a.label, a.category_id, a.iscrowd, a.area, a.id) == (1, 90, False, 900.5, 1)
    assert a.segmentation == [[10.5, 20.25, 40.5, 20.25, 40.5, 60.25]]
    assert (b.label, b.iscrowd, b.area, b.ignored) == (0, True, 5000, True)  # area defaults to w * h
    assert s.images[1].objects == [] and s.extra["info"] == {}


def test_annotation_file_and_images_option(tmp_path):
    f = write(tmp_path / "ann" / "mine.json", instances_doc())
    assert coco_annotation_file(f, "train") == f
    s = load_coco(f, "train", images=tmp_path / "imgs")
    assert s.images[1].path == str(tmp_path / "imgs" / "000000000007.jpg")
    assert load_coco(f, "train").images[1].path == str(f.parent / "000000000007.jpg")
    with pytest.raises(BadInput, match="no COCO keypoints file for split 'val'"):
        coco_annotation_file(tmp_path, "val", "person_keypoints")


@pytest.mark.parametrize("mutate, where", [
    (lambda d: d["annotations"][1].pop("bbox"), "annotations[1]"),
    (lambda d: d["annotations"][0].update(category_id=5), "annotations[0].category_id"),
    (lambda d: d["annotations"][0].update(bbox=[1, 2, 3]), "annotations[0].bbox"),
    (lambda d: d["annotations"][0].update(bbox=[1, 2, -3, 4]), "annotations[0].bbox"),
    (lambda d: d["annotations"][0].update(bbox=[700, 2, 3, 4]), "annotations[0].bbox"),
    (lambda d: d["annotations"][0].update(iscrowd=2), "annotations[0].iscrowd"),
    (lambda d: d["annotations"][0].update(area="big"), "annotations[0].area"),
    (lambda d: d["images"][1].pop("file_name"), "images[1]"),
    (lambda d: d["images"][1].update(id=42), "images[1]"),
    (lambda d: d["images"][1].update(width=-1), "images[1]"),
    (lambda d: d["categories"][1].update(id="1"), "categories[1]"),
    (lambda d: d.pop("categories"), "top level"),
])
def test_bad_entries_name_file_and_field(tmp_path, mutate, where):
    d = instances_doc()
    mutate(d)
    f = write(tmp_path / "x.json", d)
    with pytest.raises(BadInput) as e:
        load_coco(f, "val")
    assert e.value.path == str(f) and e.value.where == where


def test_skip_bad_counts_and_drops_an_image_with_its_annotations(tmp_path):
    d = instances_doc()
    d["images"][0]["file_name"] = ""  # image 42 is bad: its two annotations go with it
    d["annotations"].append({"id": 3, "image_id": 7, "category_id": 1, "bbox": [1, 1, "x", 1]})
    d["annotations"].append({"id": 4, "image_id": 7, "category_id": 1, "bbox": [1, 1, 2, 2]})
    s = load_coco(write(tmp_path / "x.json", d), "val", skip_bad=True)
    assert s.skipped == 4 == len(s.bad)
    assert [b.where for b in s.bad] == ["images[0]", "annotations[0]", "annotations[1]", "annotations[2].bbox"]
    assert [im.id for im in s.images] == [7] and [o.id for o in s.images[0].objects] == [4]


def test_declared_size_over_the_pixel_limit(tmp_path, monkeypatch):
    d = instances_doc()
    d["images"][1].update(width=100_000, height=100_000)
    f = write(tmp_path / "x.json", d)
    with pytest.raises(BadInput, match="exceeds the pixel limit") as e:
        load_coco(f, "val")
    assert e.value.path == str(f) and e.value.where == "images[1]"
    monkeypatch.setenv("CVKIT_MAX_PIXELS", "0")
    assert load_coco(f, "val").images[1].width == 100_000


def test_absurd_category_count_refused_up_front(tmp_path):
    d = instances_doc()
    d["categories"] = [{"id": i, "name": str(i)} for i in range(MAX_CATEGORIES + 1)]
    f = write(tmp_path / "x.json", d)
    with pytest.raises(BadInput, match="100,001 categories") as e:
        load_coco(f, "val", skip_bad=True)
    assert e.value.where == "categories"


def test_masks_required(tmp_path):
    d = instances_doc()
    d["annotations"][1]["segmentation"] = "nope"
    f = write(tmp_path / "instances_val2017.json", d)
    assert load_coco(f, "val").images[0].objects[1].segmentation is None  # not asked: left out, no error
    with pytest.raises(BadInput, match=r"instances_val2017\.json \(annotation id 2\): segmentation must be"):
        load_coco(f, "val", masks=True)
    s = load_coco(f, "val", masks=True, skip_bad=True)
    assert s.skipped == 1 and [o.id for o in s.images[0].objects] == [1]


def test_malformed_json_names_line(tmp_path):
    f = tmp_path / "x.json"
    f.write_text('{"images": [}')
    with pytest.raises(BadInput, match="malformed JSON") as e:
        read_json(f)
    assert e.value.path == str(f) and e.value.where == "line 1, column 13"
    with pytest.raises(BadInput, match="file not found"):
        load_coco(tmp_path / "missing.json", "val")


def keypoints_doc():
    kp = [10, 20, 2, 0, 0, 0, 30, 40, 1]
    return {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
        "annotations": [
            {"id": 5, "image_id": 1, "category_id": 1, "bbox": [5, 5, 30, 40], "area": 600.0, "keypoints": kp,
             "num_keypoints": 2, "iscrowd": 0},
            {"id": 6, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "iscrowd": 1},
            {"id": 7, "image_id": 1, "category_id": 2, "bbox": [0, 0, 3, 3]},
        ],
        "categories": [{"id": 2, "name": "dog"},
                       {"id": 1, "name": "person", "keypoints": ["nose", "left_eye", "right_eye"],
                        "skeleton": [[1, 2], [1, 3]]}],
    }


def test_person_keypoints(tmp_path):
    f = write(tmp_path / "annotations" / "person_keypoints_val2017.json", keypoints_doc())
    assert is_coco(tmp_path, "person_keypoints") and is_coco(f, "person_keypoints") and not is_coco(f, "captions")
    s = load_coco(tmp_path, "val", kind="person_keypoints")
    assert s.classes == ["person"] and s.category_ids == [1]
    assert s.extra["keypoint_names"] == ["nose", "left_eye", "right_eye"]
    assert s.extra["skeleton"] == [[0, 1], [0, 2]] and s.extra["keypoint_category_id"] == 1
    a, b = s.images[0].objects  # the dog is not a keypoint object
    assert a.keypoints == [10, 20, 2, 0, 0, 0, 30, 40, 1] and a.num_keypoints == 2
    assert b.keypoints is None and b.iscrowd and b.num_keypoints is None


@pytest.mark.parametrize("kp, reason", [
    ([1, 2, 2], "expected 9 numbers, got 3"),
    ([1, 2, 3] * 3, "visibility flags must be 0, 1 or 2"),
    ([1, 2, "a"] * 3, "expected a list of numbers"),
])
def test_bad_keypoints(tmp_path, kp, reason):
    d = keypoints_doc()
    d["annotations"][0]["keypoints"] = kp
    f = write(tmp_path / "k.json", d)
    with pytest.raises(BadInput, match=reason) as e:
        load_coco(f, "val", kind="person_keypoints")
    assert e.value.where == "annotations[0].keypoints"
    assert load_coco(f, "val", kind="person_keypoints", skip_bad=True).skipped == 1


def test_keypoint_category_required(tmp_path):
    d = keypoints_doc()
    del d["categories"][1]["keypoints"]
    with pytest.raises(BadInput, match="no category lists 'keypoints'"):
        load_coco(write(tmp_path / "k.json", d), "val", kind="person_keypoints")
    d = keypoints_doc()
    d["categories"][1]["skeleton"] = [[1]]
    with pytest.raises(BadInput, match="1-based index pairs") as e:
        load_coco(write(tmp_path / "k.json", d), "val", kind="person_keypoints")
    assert e.value.where == "categories[1].skeleton"


def test_captions(tmp_path):
    doc = {"images": [{"id": 3, "file_name": "c.jpg"}, {"id": 4, "file_name": "d.jpg"}],
           "annotations": [{"image_id": 3, "id": 1, "caption": "A cat."}, {"image_id": 3, "id": 2, "caption": "Cat"},
                           {"image_id": 4, "id": 9, "caption": "Dog."}]}
    f = write(tmp_path / "annotations" / "captions_train2017.json", doc)
    assert is_coco(tmp_path, "captions") and coco_annotation_file(tmp_path, "train", "captions") == f
    s = load_coco(tmp_path, "train", kind="captions")
    assert [im.captions for im in s.images] == [["A cat.", "Cat"], ["Dog."]] and s.classes == []
    assert s.images[0].extra["caption_ids"] == [1, 2] and (s.images[0].width, s.images[0].height) == (0, 0)
    doc["annotations"][2]["caption"] = 5
    with pytest.raises(BadInput, match="caption must be a string") as e:
        load_coco(write(f, doc), "train", kind="captions")
    assert e.value.where == "annotations[2].caption"
