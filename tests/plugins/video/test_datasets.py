"""Video loaders on real-format fixtures: Sports-1M partitions and JSON release, video lists, missing videos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cvkit.errors import BadInput, CvkitError, UsageError
from cvkit_video.datasets import BUILTINS, FORMATS
from cvkit_video.datasets.common import parse_split
from cvkit_video.datasets.sports1m import youtube_id
from tests.plugins.video.fixtures import LABELS, make_sports1m, make_sports1m_json, partition_line, write_video

SPORTS = FORMATS["sports1m"]
LISTS = FORMATS["videolist"]
TRAIN = {"dQw4w9WgXcQ": [0], "a-b_c1234XY": [1, 3], "MISSING0001": [2], "zzzzzzzzzzz": [3, 0, 3]}
TEST = {"TESTID00001": [2], "MISSING0002": [1]}


def test_youtube_ids():
    assert youtube_id("https://www.youtube.com/watch?v=dQw4w9WgXcQ") == "dQw4w9WgXcQ"
    assert youtube_id("https://www.youtube.com/watch?feature=x&v=a-b_c1234XY") == "a-b_c1234XY"
    assert youtube_id("https://youtu.be/dQw4w9WgXcQ") == "dQw4w9WgXcQ"
    assert youtube_id("dQw4w9WgXcQ") == "dQw4w9WgXcQ"


def test_partition_files_labels_and_missing_videos(tmp_path, capsys):
    root = make_sports1m(tmp_path / "sports1m", TRAIN, TEST, missing=["MISSING0001", "MISSING0002"], frames=4)
    assert SPORTS.detect(root) and not LISTS.detect(root)
    raw = SPORTS.load(root, "train", {})
    assert raw.info.classes == LABELS and raw.info.format == "sports1m"
    assert [Path(s).stem for s in raw.sources] == ["dQw4w9WgXcQ", "a-b_c1234XY", "zzzzzzzzzzz"]
    assert raw.targets == [[0], [1, 3], [0, 3]]  # sorted, de-duplicated
    assert raw.skipped == 1 and raw.info.extra["missing_videos"] == 1
    assert raw.info.extra["frame_order"] == "natural"
    err = capsys.readouterr().err
    assert "1 of 4 listed videos not found on disk; skipped" in err and "train_partition.txt" in err
    assert err.count("\n") == 1  # one warning line, not one per video
    val = SPORTS.load(root, "val", {})  # no val partition: the test partition
    assert [Path(s).stem for s in val.sources] == ["TESTID00001"] and val.skipped == 1
    assert val.files[-1].name == "test_partition.txt"


def test_partition_beside_labels_and_videos_option(tmp_path):
    root = make_sports1m(tmp_path / "s", {"AAAAAAAAAAA": [1]}, {"BBBBBBBBBBB": [0]}, under_original=False,
                         frames=4)
    elsewhere = tmp_path / "downloads"
    (root / "videos").rename(elsewhere)
    with pytest.raises(CvkitError, match="no such video folder"):
        SPORTS.load(root, "train", {})
    raw = SPORTS.load(root, "test", {"videos": str(elsewhere)})
    assert raw.sources == [str(elsewhere / "BBBBBBBBBBB.mp4")] and raw.targets == [[0]]


def test_json_release(tmp_path):
    root = make_sports1m_json(tmp_path / "j", {"AAAAAAAAAAA": [3, 1], "GONEGONEGON": [0]}, {"CCCCCCCCCCC": [2]},
                              missing=["GONEGONEGON"])
    assert SPORTS.detect(root)
    raw = SPORTS.load(root, "train", {})
    assert [Path(s).name for s in raw.sources] == ["AAAAAAAAAAA.mp4"] and raw.targets == [[1, 3]]
    assert raw.skipped == 1
    assert SPORTS.load(root, "valid", {}).targets == [[2]]


def test_video_extensions_preference(tmp_path):
    root = make_sports1m(tmp_path / "s", {"AAAAAAAAAAA": [0]}, {"BBBBBBBBBBB": [1]}, frames=3)
    (root / "videos" / "AAAAAAAAAAA.mp4").rename(root / "videos" / "AAAAAAAAAAA.webm")
    write_video(root / "videos" / "BBBBBBBBBBB.MKV", frames=3)
    assert SPORTS.load(root, "train", {}).sources == [str(root / "videos" / "AAAAAAAAAAA.webm")]
    assert SPORTS.load(root, "test", {}).sources == [str(root / "videos" / "BBBBBBBBBBB.mp4")]


@pytest.mark.parametrize("line, why", [
    ("https://www.youtube.com/watch?v=AAAAAAAAAAA\n", "no label"),
    ("https://www.youtube.com/watch?v=AAAAAAAAAAA 1,x\n", "invalid literal"),
    ("https://www.youtube.com/watch?v=AAAAAAAAAAA 9\n", "label 9 outside 0..3"),
])
def test_malformed_partition_line(tmp_path, line, why):
    root = make_sports1m(tmp_path / "s", {"AAAAAAAAAAA": [0]}, {"BBBBBBBBBBB": [1]}, frames=3)
    part = root / "original" / "train_partition.txt"
    part.write_text(partition_line("AAAAAAAAAAA", [0]) + line)
    with pytest.raises(BadInput) as exc:
        SPORTS.load(root, "train", {})
    assert exc.value.path == str(part) and exc.value.where == "line 2" and why in exc.value.reason
    raw = SPORTS.load(root, "train", {"skip_bad": True})
    assert raw.targets == [[0]] and raw.skipped == 1


def test_missing_labels_and_partition(tmp_path):
    root = make_sports1m(tmp_path / "s", {"AAAAAAAAAAA": [0]}, {"BBBBBBBBBBB": [1]}, frames=3)
    (root / "labels.txt").unlink()
    assert not SPORTS.detect(root)
    with pytest.raises(BadInput, match="no labels.txt"):
        SPORTS.load(root, "train", {})


def test_split_modifiers():
    assert parse_split("val") == ("val", "natural")
    assert parse_split("Valid:shuffled") == ("val", "shuffled")
    assert parse_split("test:reversed") == ("test", "reversed")
    with pytest.raises(UsageError, match="unknown frame order"):
        parse_split("val:sideways")
    with pytest.raises(UsageError, match="unknown split"):
        parse_split("dev")


def test_split_modifier_reaches_the_dataset_info(tmp_path):
    root = make_sports1m(tmp_path / "s", {"AAAAAAAAAAA": [0]}, {"BBBBBBBBBBB": [1]}, frames=3)
    raw = SPORTS.load(root, "val:shuffled", {})
    assert raw.info.extra["frame_order"] == "shuffled" and raw.info.split == "val:shuffled"


def test_videolist_spaces_and_commas(tmp_path):
    for name in ("a.mp4", "b.mp4", "sub/c.avi"):
        write_video(tmp_path / name, frames=3)
    lst = tmp_path / "train_list.txt"
    lst.write_text("a.mp4 3\nb.mp4,0,2\n\nsub/c.avi 1 2\nmissing.mp4 0\n" + f"{tmp_path / 'a.mp4'} 0,1\n")
    assert LISTS.detect(lst) and not SPORTS.detect(tmp_path)
    raw = LISTS.load(lst, "train", {})
    assert raw.info.classes == ["0", "1", "2", "3"]
    assert raw.sources == [str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4"), str(tmp_path / "sub/c.avi"),
                           str(tmp_path / "a.mp4")]
    assert raw.targets == [[3], [0, 2], [1, 2], [0, 1]] and raw.skipped == 1


def test_videolist_folder_with_names_and_videos_option(tmp_path):
    videos = tmp_path / "clips"
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        write_video(videos / name, frames=3)
    ann = tmp_path / "ann"
    ann.mkdir()
    (ann / "train.txt").write_text("a.mp4 dunk\nb.mp4 layup,dunk\n")
    (ann / "kinetics_val_list_videos.txt").write_text("c.mp4 block\n")
    assert LISTS.detect(ann)
    raw = LISTS.load(ann, "train", {"videos": str(videos)})
    assert raw.info.classes == ["block", "dunk", "layup"]  # names over all splits, sorted
    assert raw.targets == [[1], [1, 2]]
    val = LISTS.load(ann, "val", {"videos": str(videos)})
    assert val.targets == [[0]] and val.info.classes == raw.info.classes
    (ann / "classes.txt").write_text("layup\ndunk\nblock\n")
    assert LISTS.load(ann, "train", {"videos": str(videos)}).targets == [[1], [0, 1]]


def test_videolist_errors(tmp_path):
    write_video(tmp_path / "a.mp4", frames=3)
    lst = tmp_path / "list.txt"
    (tmp_path / "labels.txt").write_text("x\ny\n")
    lst.write_text("a.mp4 0\na.mp4 5\n")
    with pytest.raises(BadInput) as exc:
        LISTS.load(lst, "train", {})
    assert exc.value.path == str(lst) and exc.value.where == "line 2" and "unknown label '5'" in exc.value.reason
    assert LISTS.load(lst, "train", {"skip_bad": True}).targets == [[0]]


def test_registries():
    assert list(FORMATS) == ["sports1m", "videolist"] and list(BUILTINS) == ["motion"]
    assert json.loads(json.dumps(BUILTINS["motion"].formats)) == ["sports1m"]
