"""COCO results files: validated entries, numbers as written, errors naming the file and entry."""

from __future__ import annotations

import json

import pytest

from cvkit.errors import BadInput
from cvkit.vision.results import group_by_image, is_results_file, read_coco_results, results_kind

BOX = {"image_id": 1, "category_id": 2, "bbox": [0.1, 0.30000000000000004, 32, 1e-3], "score": 0.5}


def write(tmp_path, text):
    f = tmp_path / "res.json"
    f.write_text(text)
    return f


def test_numbers_kept_exactly(tmp_path):
    f = write(tmp_path, "[" + json.dumps(BOX) + ', {"image_id": "x", "category_id": 2, "keypoints": [1, 2, 2], '
              '"score": 1}]')
    got = read_coco_results(f)
    assert got[0]["bbox"] == [0.1, 0.30000000000000004, 32, 1e-3] and type(got[0]["bbox"][2]) is int
    assert is_results_file(f) and not is_results_file(tmp_path) and results_kind(got) == "bbox"
    assert list(group_by_image(got)) == [1, "x"]
    assert results_kind([{"image_id": 1, "caption": "a"}]) == "captions" and results_kind([]) is None
    assert results_kind([{**BOX, "bbox": [], "segmentation": {"size": [1, 1], "counts": "1"}}]) == "segm"


def test_jsonl_is_not_a_results_file(tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text('{"source": "a.jpg"}\n')
    assert not is_results_file(f)


@pytest.mark.parametrize("entry, where, reason", [
    ({**BOX, "bbox": [1, 2, 3]}, "[1].bbox", "bbox must be"),
    ({**BOX, "bbox": [1, 2, -3, 4]}, "[1].bbox", "width and height must be >= 0"),
    ({**BOX, "score": "high"}, "[1].score", "score must be a finite number"),
    ({**BOX, "category_id": True}, "[1].category_id", "category_id must be an integer"),
    ({k: v for k, v in BOX.items() if k != "image_id"}, "[1]", "missing field 'image_id'"),
    ({k: v for k, v in BOX.items() if k != "bbox"}, "[1]", "needs a bbox, a segmentation or keypoints"),
    ({**BOX, "segmentation": {"size": [2], "counts": "x"}}, "[1].segmentation", "size must be"),
    ({**BOX, "segmentation": [[1, 2, 3, 4, 5, 6]]}, "[1].segmentation", "must be an RLE"),
    ({**BOX, "keypoints": [1, 2]}, "[1].keypoints", "bad keypoint result"),
    ({"image_id": 1, "caption": 3}, "[1].caption", "caption must be a string"),
    (7, "[1]", "expected an object"),
])
def test_bad_entries(tmp_path, entry, where, reason):
    f = write(tmp_path, json.dumps([BOX, entry]))
    with pytest.raises(BadInput, match=reason) as e:
        read_coco_results(f)
    assert e.value.path == str(f) and e.value.where == where


def test_not_a_list_or_not_json(tmp_path):
    with pytest.raises(BadInput, match="expected a JSON list"):
        read_coco_results(write(tmp_path, "{}"))
    with pytest.raises(BadInput, match="malformed JSON") as e:
        read_coco_results(write(tmp_path, "[1,"))
    assert e.value.where.startswith("line 1")
