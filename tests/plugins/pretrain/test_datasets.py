"""Loading images for pretraining: labelled and unlabelled folders, COCO labels from the largest object."""

from __future__ import annotations

from pathlib import Path

import pytest

from cvkit.data import load_split
from cvkit.errors import BadInput
from cvkit.plugin import get_task
from cvkit.task import ModelConfig

from .fixtures import blob_image, make_coco, make_imagefolder, write_png


def test_imagefolder_labels_follow_sorted_class_folders(tmp_path: Path) -> None:
    root = make_imagefolder(tmp_path / "d", {"train": 2, "val": 1})
    raw = load_split(get_task("pretrain"), str(root), "val")
    assert raw.info.classes == ["disc", "square"] and raw.info.format == "imagefolder"
    assert raw.targets == [0, 1] and raw.sources[0].endswith("val/disc/000.png")


def test_a_plain_folder_of_images_is_unlabelled_and_evaluated_on_a_held_out_fifth(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    for i in range(10):
        write_png(tmp_path / "pics" / f"{i}.png", blob_image(rng, i % 2))
    task = get_task("pretrain")
    raw = load_split(task, f"imagefolder:{tmp_path / 'pics'}", "val")
    assert raw.targets == [-1] * 10 and raw.info.classes == []
    ds = task.dataset(raw, ModelConfig("rotation", 32), train=False)
    parts = [ds.target(i)["part"] for i in range(len(ds))]
    assert parts.count("score") == 2 and parts.count("fit") == 8
    assert task.evaluator(raw.info).primary == "pretext_loss"


def test_coco_label_is_the_largest_non_crowd_object(tmp_path: Path) -> None:
    root = make_coco(tmp_path / "coco")
    raw = load_split(get_task("pretrain"), f"coco:{root}", "train")
    assert raw.info.classes == ["square", "disc"]
    # image i: largest object of class i % 2 (a larger crowd region of the other class is ignored); every third
    # image has no objects and is unlabelled
    assert raw.targets == [-1 if i % 3 == 2 else i % 2 for i in range(12)]


def test_evaluation_set_fits_on_train_and_scores_val(tmp_path: Path) -> None:
    root = make_imagefolder(tmp_path / "d", {"train": 3, "val": 2})
    task = get_task("pretrain")
    ds = task.dataset(load_split(task, str(root), "val"), ModelConfig("simclr", 32), train=False)
    parts = [ds.target(i)["part"] for i in range(len(ds))]
    assert parts == ["fit"] * 6 + ["score"] * 4
    img, target, meta = ds[0]
    assert img.shape == (3, 32, 32) and 0 <= float(img.min()) and float(img.max()) <= 1
    assert meta["part"] == "fit" and "/train/" in meta["source"]


def test_bad_image_names_the_file(tmp_path: Path) -> None:
    root = make_imagefolder(tmp_path / "d", {"train": 1, "val": 1})
    bad = root / "train" / "disc" / "000.png"
    bad.write_bytes(b"not a png")
    task = get_task("pretrain")
    ds = task.dataset(load_split(task, str(root), "train"), ModelConfig("simclr", 32), train=True)
    with pytest.raises(BadInput, match="000.png"):
        ds[0]


def test_missing_split_is_a_named_error(tmp_path: Path) -> None:
    root = make_imagefolder(tmp_path / "d", {"train": 1})
    with pytest.raises(BadInput, match="no val split"):
        load_split(get_task("pretrain"), str(root), "val")


def test_repeat_shows_every_image_n_times_per_epoch(tmp_path: Path) -> None:
    from cvkit.errors import UsageError

    root = make_imagefolder(tmp_path / "d", {"train": 2, "val": 1})
    task = get_task("pretrain")
    raw = load_split(task, str(root), "train")
    ds = task.dataset(raw, ModelConfig("rotation", 32, {"repeat": 3}), train=True)
    assert len(ds) == 12 and ds.sources[:4] == ds.sources[4:8]
    assert task.build_model(ModelConfig("rotation", 32, {"repeat": 3}), raw.info) is not None
    with pytest.raises(UsageError, match="repeat"):
        task.dataset(raw, ModelConfig("rotation", 32, {"repeat": 0}), train=True)
