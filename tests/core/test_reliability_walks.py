"""Defect 1: symbolic-link loops and links out of the dataset root in every folder walk."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from cvkit.io.sources import expand_sources
from cvkit.io.walk import walk_files


def _png(path: Path, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((4, 4, 3), value, np.uint8))


@pytest.fixture
def looped(tmp_path: Path) -> Path:
    """An ImageFolder of 3 classes x 2 images whose class 1 holds ``up -> ..`` (the split folder) and a link to
    a folder outside the dataset."""
    root = tmp_path / "D"
    for c in range(3):
        for k in range(2):
            _png(root / "train" / str(c) / f"{k}.png", 40 * c + k)
    os.symlink("..", root / "train" / "1" / "up")
    os.symlink(".", root / "train" / "2" / "self")
    outside = tmp_path / "elsewhere"
    _png(outside / "x.png")
    os.symlink(outside, root / "train" / "0" / "ext")
    return root


def test_imagefolder_reads_each_real_image_once(looped: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cvkit_classify.datasets.imagefolder import ImageFolderFormat

    raw = ImageFolderFormat().load(looped, "train", {})
    assert len(raw.sources) == 6
    assert raw.targets == [0, 0, 1, 1, 2, 2]
    err = capsys.readouterr().err
    assert "up: link not followed" in err and "ext: link not followed" in err


def test_imagenet_class_folders_do_not_follow_loops(tmp_path: Path) -> None:
    from cvkit_classify.datasets.imagefolder import list_images

    folder = tmp_path / "n01440764"
    _png(folder / "a.JPEG")
    os.symlink("..", folder / "up")
    assert [p.name for p in list_images(folder, recursive=False)] == ["a.JPEG"]
    assert [p.name for p in list_images(folder)] == ["a.JPEG"]


def test_predict_sources_visit_each_real_file_once(looped: Path) -> None:
    found = list(expand_sources([str(looped)]))
    assert len(found) == 6
    assert len({os.path.realpath(p) for p in found}) == 6


def test_links_out_of_the_root_are_followed_only_when_asked(looped: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(walk_files(looped, quiet=True)) == 6
    monkeypatch.setenv("CVKIT_FOLLOW_LINKS", "1")
    found = walk_files(looped, quiet=True)
    assert len(found) == 7 and any(p.endswith(os.path.join("ext", "x.png")) for p in found)


def test_file_links_are_followed_once_and_two_loops_end(tmp_path: Path) -> None:
    root = tmp_path / "r"
    _png(root / "a" / "img.png")
    os.symlink(tmp_path / "r" / "a" / "img.png", root / "a" / "same.png")  # same real file: listed once
    os.symlink("../..", root / "a" / "up2")
    os.symlink("..", root / "a" / "up1")
    os.symlink("loop", root / "loop")  # a link to itself
    assert walk_files(root, quiet=True) == [str(root / "a" / "img.png")]


def test_video_sources_do_not_follow_loops(tmp_path: Path) -> None:
    root = tmp_path / "videos"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "clip.mp4").write_bytes(b"\0")
    os.symlink("..", root / "sub" / "up")
    assert list(expand_sources([str(root)], (".mp4",))) == [str(root / "sub" / "clip.mp4")]


def test_recursive_globs_do_not_follow_loops(looped: Path) -> None:
    found = list(expand_sources([str(looped / "**" / "*.png")]))
    assert len(found) == 6 and len({os.path.realpath(p) for p in found}) == 6
    assert list(expand_sources([str(looped / "train" / "[01]" / "*.png")])) == [
        str(looped / "train" / c / f"{k}.png") for c in "01" for k in range(2)]
