"""Loaders on real-format fixtures: MPII JSON (HRNet and mmpose layouts) with gt_valid.mat or the original .mat,
the original .mat alone, COCO person keypoints; malformed files raise BadInput naming the file and the field."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cvkit.errors import BadInput, CvkitError
from cvkit_pose.datasets.coco import CocoFormat
from cvkit_pose.datasets.mpii import MpiiFormat
from cvkit_pose.skeleton import COCO_KEYPOINTS, MPII_JOINTS

from .fixtures import coco_keypoints, mpii_person, write_gt_valid, write_release


def _mpii_json(root, rng, annot="annot", train="train.json", val="valid.json", gt="gt_valid.mat"):
    (root / annot).mkdir(parents=True)
    tr = [mpii_person("000000001.jpg", rng), mpii_person("000000001.jpg", rng, missing=(0, 5)),
          mpii_person("abc.jpg", rng)]
    va = [mpii_person("000000007.jpg", rng, missing=(9,)), mpii_person("000000008.jpg", rng),
          mpii_person("000000008.jpg", rng)]
    (root / annot / train).write_text(json.dumps(tr))
    (root / annot / val).write_text(json.dumps(va))
    heads = np.array([[10, 20, 40, 60], [5, 5, 25, 35], [100, 100, 130, 150]], float)
    if gt:
        write_gt_valid(root / annot / gt, va, heads)
    return tr, va, heads


def test_mpii_json_with_gt_valid(tmp_path):
    tr, va, heads = _mpii_json(tmp_path, np.random.default_rng(0))
    fmt = MpiiFormat()
    assert fmt.detect(tmp_path) and not CocoFormat().detect(tmp_path)
    raw = fmt.load(tmp_path, "val", {})
    assert raw.info.classes == MPII_JOINTS and raw.info.extra["metric"] == "pckh"
    assert raw.sources == [str(tmp_path / "images" / "000000007.jpg"), str(tmp_path / "images" / "000000008.jpg")]
    assert raw.info.extra["image_ids"] == {"000000007.jpg": 7, "000000008.jpg": 8}
    t = raw.targets[1]
    assert t["keypoints"].shape == (2, 16, 2) and t["image_id"] == 8
    # HRNet's adjustment: 1-based -> 0-based for joints and head boxes; centre moved down 15 s, side 200 * 1.25 s
    np.testing.assert_allclose(t["keypoints"][0], np.array(va[1]["joints"]) - 1)
    np.testing.assert_allclose(t["head_boxes"], heads[1:] - 1)
    c, s = va[2]["center"], va[2]["scale"]
    np.testing.assert_allclose(t["crops"][1], [c[0] - 1, c[1] - 1 + 15 * s, 250 * s])
    assert raw.targets[0]["visible"][0, 9] == 0 and raw.targets[0]["visible"][0].sum() == 15
    train = fmt.load(tmp_path, "train", {})
    assert len(train.sources) == 2 and train.info.extra["image_ids"]["abc.jpg"] == 2  # no number: position
    assert np.isnan(train.targets[0]["head_boxes"]).all()  # gt_valid.mat covers the validation split only
    assert train.info.extra["metric"] == "oks"


def test_mmpose_layout(tmp_path):
    _mpii_json(tmp_path, np.random.default_rng(1), "annotations", "mpii_train.json", "mpii_val.json",
               "mpii_gt_val.mat")
    raw = MpiiFormat().load(tmp_path, "val", {})
    assert len(raw.sources) == 2 and np.isfinite(raw.targets[0]["head_boxes"]).all()


def _release_images():
    # joints as {id: (x, y, is_visible)}, 1-based; is_visible as the real file has it: number, string or []
    joints = {i: (20.0 + 3 * i, 30.0 + 2 * i, [1, "0", None][i % 3]) for i in range(16) if i != 4}
    images = []
    for k in range(11):
        people = [{"head": (11, 12, 31, 42), "objpos": (50, 60 + k), "scale": 1.5, "joints": joints}]
        if k == 3:
            people.append({"head": (71, 72, 91, 102), "objpos": (150, 160), "scale": 2.0, "joints": {}})
        images.append({"name": f"{k:09d}.jpg", "train": True, "people": people})
    images.insert(5, {"name": "test.jpg", "train": False, "people": [{"objpos": (5, 5), "scale": 1.0}]})
    return images


def test_original_release_alone(tmp_path):
    write_release(tmp_path / "mpii_human_pose_v1_u12_1.mat", _release_images())
    fmt = MpiiFormat()
    assert fmt.detect(tmp_path)
    train, val = fmt.load(tmp_path, "train", {}), fmt.load(tmp_path, "val", {})
    # 11 annotated training images: the 10th is val, the others train; the test image and the person of image 3
    # without joints are left out
    assert len(train.sources) == 10 and [s.rsplit("/", 1)[-1] for s in val.sources] == ["000000009.jpg"]
    t = val.targets[0]
    assert t["keypoints"].shape == (1, 16, 2)
    assert t["visible"][0, 4] == 0 and t["visible"][0].sum() == 15
    np.testing.assert_allclose(t["keypoints"][0, 7], [20 + 21 - 1, 30 + 14 - 1])
    np.testing.assert_allclose(t["head_boxes"][0], [10, 11, 30, 41])
    np.testing.assert_allclose(t["crops"][0], [49, 60 + 9 - 1 + 22.5, 375])
    with pytest.raises(CvkitError, match="no joints"):
        fmt.load(tmp_path, "test", {})


def test_json_with_heads_from_the_release(tmp_path):
    (tmp_path / "annot").mkdir()
    person = mpii_person("000000002.jpg", np.random.default_rng(2))
    person["center"] = [50.0, 62.0]  # objpos of image 2's person
    (tmp_path / "annot" / "valid.json").write_text(json.dumps([person]))
    write_release(tmp_path / "annot" / "mpii_human_pose_v1_u12_1.mat", _release_images())
    raw = MpiiFormat().load(tmp_path, "val", {})
    np.testing.assert_allclose(raw.targets[0]["head_boxes"][0], [10, 11, 30, 41])
    assert raw.info.extra["metric"] == "pckh"


def test_coco_keypoints(tmp_path):
    kp = np.zeros((17, 3))
    kp[0] = (10, 20, 2)
    kp[5] = (30, 40, 1)
    images = [{"id": 42, "file_name": "000000000042.jpg", "height": 100, "width": 120},
              {"id": 7, "file_name": "000000000007.jpg", "height": 50, "width": 60}]
    anns = [{"id": 1, "image_id": 42, "category_id": 1, "keypoints": kp.ravel().tolist(), "num_keypoints": 2,
             "bbox": [5.0, 10.0, 40.0, 60.0], "area": 1500.0, "iscrowd": 0},
            {"id": 2, "image_id": 42, "category_id": 1, "keypoints": [0] * 51, "num_keypoints": 0,
             "bbox": [50.0, 10.0, 40.0, 60.0], "area": 2000.0, "iscrowd": 1}]
    coco_keypoints(tmp_path / "annotations" / "person_keypoints_val2017.json", images, anns)
    fmt = CocoFormat()
    assert fmt.detect(tmp_path) and not MpiiFormat().detect(tmp_path)
    raw = fmt.load(tmp_path, "val", {})
    assert raw.info.classes == COCO_KEYPOINTS and raw.info.extra["metric"] == "oks"
    assert raw.info.extra["skeleton"] == [[15, 13], [13, 11]] and [0, 0] not in raw.info.extra["flip_pairs"]
    assert [1, 2] in raw.info.extra["flip_pairs"] and raw.info.extra["category_id"] == 1
    assert raw.sources[0] == str(tmp_path / "val2017" / "000000000042.jpg")
    t = raw.targets[0]
    np.testing.assert_allclose(t["keypoints"][0, [0, 5]], [[10, 20], [30, 40]])
    assert t["visible"][0, :6].tolist() == [2, 0, 0, 0, 0, 1] and t["iscrowd"].tolist() == [False, True]
    np.testing.assert_allclose(t["bbox"][0], [5, 10, 40, 60])
    np.testing.assert_allclose(t["crops"][0], [24.5, 39.5, 75.0])  # box centre (pixel centres), 1.25 * 60
    assert len(raw.targets[1]["keypoints"]) == 0 and raw.targets[1]["size"] == (50, 60)
    single = fmt.load(tmp_path / "annotations" / "person_keypoints_val2017.json", "val", {"images": str(tmp_path)})
    assert single.sources[1] == str(tmp_path / "000000000007.jpg")


@pytest.mark.parametrize(("edit", "where"), [
    (lambda d: d[1].pop("joints"), "[1]"),
    (lambda d: d[0].__setitem__("joints", [[1, 2]] * 15), "[0].joints"),
    (lambda d: d[2].__setitem__("center", "middle"), "[2].center"),
    (lambda d: d[0].__setitem__("image", 5), "[0].image"),
])
def test_malformed_mpii_json(tmp_path, edit, where):
    _, va, _ = _mpii_json(tmp_path, np.random.default_rng(3), gt=None)
    edit(va)
    f = tmp_path / "annot" / "valid.json"
    f.write_text(json.dumps(va))
    with pytest.raises(BadInput) as exc:
        MpiiFormat().load(tmp_path, "val", {})
    assert exc.value.path == str(f) and exc.value.where == where


def test_malformed_mpii_files(tmp_path):
    _mpii_json(tmp_path, np.random.default_rng(4))
    (tmp_path / "annot" / "train.json").write_text('[{"image": "a.jpg",\n "center": [1, 2], oops}]')
    with pytest.raises(BadInput, match=r"train\.json \(line 2 column"):
        MpiiFormat().load(tmp_path, "train", {})
    gt = tmp_path / "annot" / "gt_valid.mat"
    write_gt_valid(gt, [mpii_person("x.jpg", np.random.default_rng(5))], np.zeros((1, 4)))
    with pytest.raises(BadInput, match="holds 1 people but the validation JSON has 3") as exc:
        MpiiFormat().load(tmp_path, "val", {})
    assert exc.value.path == str(gt) and exc.value.where == "headboxes_src"
    gt.write_bytes(b"not a mat file")
    with pytest.raises(BadInput, match="gt_valid.mat: not a readable MATLAB file"):
        MpiiFormat().load(tmp_path, "val", {})
    with pytest.raises(BadInput, match="no MPII annotations for split 'test'"):
        MpiiFormat().load(tmp_path, "test", {})


def test_malformed_release(tmp_path):
    from scipy.io import loadmat, savemat

    from .fixtures import _num, _struct

    images = _release_images()
    path = tmp_path / "mpii_human_pose_v1_u12_1.mat"
    write_release(path, images[:2])  # a valid file, then its second image's point loses x
    mat = loadmat(str(path))
    point = _struct([{"y": _num(5.0), "id": _num(3.0), "is_visible": _num(1)}], ["x", "y", "id", "is_visible"])
    mat["RELEASE"][0, 0]["annolist"][0, 1]["annorect"][0, 0]["annopoints"][0, 0]["point"] = point
    savemat(str(path), {"RELEASE": mat["RELEASE"]})
    with pytest.raises(BadInput, match="point needs id, x and y") as exc:
        MpiiFormat().load(tmp_path, "train", {})
    assert exc.value.where == "RELEASE.annolist(2).annorect(1).annopoints.point(1)"


@pytest.mark.parametrize(("edit", "where"), [
    (lambda d: d["annotations"][0].__setitem__("keypoints", [1, 2, 2] * 16), "annotations[0].keypoints"),
    (lambda d: d["annotations"][0].__setitem__("keypoints", [1, 2, 3] * 17), "annotations[0].keypoints"),
    (lambda d: d["annotations"][0].pop("bbox"), "annotations[0]"),
    (lambda d: d["categories"][0].pop("keypoints"), "categories"),
    (lambda d: d["annotations"][0].__setitem__("image_id", 99), "annotations[0].image_id"),
])
def test_malformed_coco(tmp_path, edit, where):
    images = [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}]
    anns = [{"id": 1, "image_id": 1, "category_id": 1, "keypoints": [1, 2, 2] * 17, "num_keypoints": 17,
             "bbox": [0, 0, 5, 5], "area": 25, "iscrowd": 0}]
    f = tmp_path / "person_keypoints_val2017.json"
    coco_keypoints(f, images, anns)
    doc = json.loads(f.read_text())
    edit(doc)
    f.write_text(json.dumps(doc))
    with pytest.raises(BadInput) as exc:
        CocoFormat().load(f, "val", {})
    assert exc.value.path == str(f) and exc.value.where == where


def test_skip_bad_counts_malformed_entries(tmp_path):
    _, va, _ = _mpii_json(tmp_path, np.random.default_rng(6), gt=None)
    va[1]["joints"] = "nope"
    (tmp_path / "annot" / "valid.json").write_text(json.dumps(va))
    raw = MpiiFormat().load(tmp_path, "val", {"skip_bad": True})
    assert raw.skipped == 1 and sum(len(t["keypoints"]) for t in raw.targets) == 2
    images = [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}]
    good = {"id": 1, "image_id": 1, "category_id": 1, "keypoints": [1, 2, 2] * 17, "num_keypoints": 17,
            "bbox": [0, 0, 5, 5], "area": 25, "iscrowd": 0}
    f = tmp_path / "person_keypoints_val2017.json"
    coco_keypoints(f, images, [good, {**good, "id": 2, "keypoints": [1, 2, 9] * 17}])
    raw = CocoFormat().load(f, "val", {"skip_bad": True})
    assert raw.skipped == 1 and len(raw.targets[0]["keypoints"]) == 1
