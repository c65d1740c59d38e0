"""Loaders on real-format fixtures: VOC palette PNGs (with void borders), SBD .mat files, COCO polygons/RLE/crowd."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cvkit.errors import BadInput
from cvkit.task import ModelConfig
from cvkit_segment.datasets.target import load_label
from cvkit_segment.palette import VOC_CLASSES, voc_colormap
from tests.plugins.segment.fixtures import make_coco, make_sbd, make_voc, save_palette_png, voc_label


def test_voc_colormap_is_the_devkit_one():
    cmap = voc_colormap()
    assert cmap[0].tolist() == [0, 0, 0] and cmap[1].tolist() == [128, 0, 0] and cmap[15].tolist() == [192, 128, 128]
    assert cmap[255].tolist() == [224, 224, 192]


def test_voc_reads_palette_indices_with_void(task, tmp_path):
    year = make_voc(tmp_path, {"train": ["2007_000032", "2007_000039"], "val": ["2007_000033"]})
    fmt = task.formats()["voc"]
    assert fmt.detect(tmp_path / "VOCdevkit") and fmt.detect(year) and not fmt.detect(tmp_path)
    raw = fmt.load(tmp_path / "VOCdevkit", "train", {})
    assert raw.info.classes == list(VOC_CLASSES) and len(raw.info.classes) == 21
    assert [s.rsplit("/", 1)[-1] for s in raw.sources] == ["2007_000032.jpg", "2007_000039.jpg"]
    labels = load_label(raw.targets[0], 21)
    np.testing.assert_array_equal(labels, voc_label())
    assert set(np.unique(labels)) == {0, 1, 15, 255}
    assert len(fmt.load(year, "valid", {}).sources) == 1
    with Image.open(raw.targets[0]["file"]) as im:
        assert im.mode == "P"  # the fixture is a real palette PNG


def test_voc_rgb_label_is_mapped_back_through_the_palette(task, tmp_path):
    year = make_voc(tmp_path, {"train": ["a"]})
    png = year / "SegmentationClass" / "a.png"
    Image.open(png).convert("RGB").save(png)
    raw = task.formats()["voc"].load(year, "train", {})
    np.testing.assert_array_equal(load_label(raw.targets[0], 21), voc_label())
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[0, 0] = (1, 2, 3)
    Image.fromarray(rgb).save(png)
    with pytest.raises(BadInput, match=r"a\.png.*colour \(1, 2, 3\)"):
        load_label(raw.targets[0], 21)


def test_voc_labelmap_names_classes(task, tmp_path):
    lab = np.array([[0, 1], [2, 255]], np.uint8)
    year = make_voc(tmp_path, {"train": ["x"]}, label=lab)
    (year / "labelmap.txt").write_text("# label:color_rgb:parts:actions\nbackground:0,0,0::\nroad:10,20,30::\n"
                                       "car:::\n")
    raw = task.formats()["voc"].load(year, "train", {})
    assert raw.info.classes == ["background", "road", "car"]
    assert raw.info.extra["colours"] == [[0, 0, 0], [10, 20, 30], [0, 128, 0]]
    np.testing.assert_array_equal(load_label(raw.targets[0], 3), lab)
    (year / "labelmap.txt").write_text("background:0,0,0::\nroad:10,20::\n")
    with pytest.raises(BadInput, match=r"labelmap\.txt \(line 2\)"):
        task.formats()["voc"].load(year, "train", {})


def test_voc_bad_files_name_the_file(task, tmp_path):
    year = make_voc(tmp_path, {"train": ["a", "b"]})
    fmt = task.formats()["voc"]
    with pytest.raises(BadInput, match=r"Segmentation/test\.txt.*splits here: train"):
        fmt.load(year, "test", {})
    (year / "SegmentationClass" / "b.png").unlink()
    with pytest.raises(BadInput, match=r"SegmentationClass/b\.png"):
        fmt.load(year, "train", {})
    raw = fmt.load(year, "train", {"skip_bad": True})
    assert raw.skipped == 1 and len(raw.sources) == 1
    (year / "SegmentationClass" / "a.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(BadInput, match=r"a\.png.*not a readable label image"):
        load_label(raw.targets[0], 21)
    bad = voc_label()
    bad[0, 0] = 37
    save_palette_png(year / "SegmentationClass" / "a.png", bad)
    with pytest.raises(BadInput, match=r"a\.png.*pixel value 37"):
        load_label(raw.targets[0], 21)


def test_training_sample_keeps_void_and_indices(task, tmp_path):
    year = make_voc(tmp_path, {"train": ["a"]})
    raw = task.formats()["voc"].load(year, "train", {})
    ds = task.dataset(raw, ModelConfig("unet", 16), train=True)
    s = ds[0]
    assert s["image"].shape == (3, 16, 16) and s["target"].shape == (16, 16) and s["target"].dtype.is_floating_point \
        is False
    assert set(s["target"].unique().tolist()) <= {0, 1, 15, 255}
    assert task.dataset(raw, ModelConfig("unet", 16), train=False)[0]["target"] is None
    save_palette_png(year / "SegmentationClass" / "a.png", np.zeros((5, 5), np.uint8))
    fresh = task.dataset(raw, ModelConfig("unet", 16), train=True)  # ds keeps what it decoded in memory
    with pytest.raises(BadInput, match=r"a\.png.*5x5.*30x20"):
        fresh[0]


def test_sbd(task, tmp_path):
    lab = np.zeros((12, 16), np.uint8)
    lab[2:6, 3:9] = 12
    ds = make_sbd(tmp_path, {"2008_000002": lab, "2008_000003": np.full((12, 16), 20, np.uint8)})
    fmt = task.formats()["sbd"]
    assert fmt.detect(tmp_path / "benchmark_RELEASE") and fmt.detect(ds)
    raw = fmt.load(tmp_path / "benchmark_RELEASE", "train", {})
    assert raw.info.classes == list(VOC_CLASSES) and len(raw.sources) == 2
    np.testing.assert_array_equal(load_label(raw.targets[0], 21), lab)
    (ds / "cls" / "2008_000003.mat").write_bytes(b"garbage")
    with pytest.raises(BadInput, match=r"2008_000003\.mat"):
        load_label(raw.targets[1], 21)


def test_coco_rasterised_with_overlaps_and_crowd_void(task, tmp_path):
    root = make_coco(tmp_path / "coco")
    raw = task.formats()["coco"].load(root, "val", {})
    assert raw.info.classes == ["background", "person", "bicycle", "giraffe", "couch"]
    assert raw.info.extra["category_ids"] == [0, 1, 2, 25, 63]
    lab = load_label(raw.targets[0], 5)
    assert lab.shape == (24, 32)
    assert lab[4, 4] == 1 and lab[12, 12] == 4 and lab[9, 9] == 255  # person, couch, their overlap
    assert lab[4, 24] == 3 and lab[19, 5] == 255 and lab[0, 31] == 0  # giraffe, crowd, background
    b = load_label(raw.targets[1], 5)
    assert (b[4:12, 20:30] == 2).all() and b.sum() == 2 * 80


def test_coco_to_voc_classes(task, tmp_path):
    root = make_coco(tmp_path / "coco")
    raw = task.formats()["coco-voc"].load(root, "val", {})
    assert raw.info.classes == list(VOC_CLASSES) and raw.info.format == "coco-voc"
    lab = load_label(raw.targets[0], 21)
    person, sofa, bicycle = VOC_CLASSES.index("person"), VOC_CLASSES.index("sofa"), VOC_CLASSES.index("bicycle")
    assert lab[4, 4] == person and lab[12, 12] == sofa and lab[9, 9] == 255 and lab[4, 24] == 0  # giraffe dropped
    assert (load_label(raw.targets[1], 21)[4:12, 20:30] == bicycle).all()
    assert not task.formats()["coco-voc"].detect(root) and task.formats()["coco"].detect(root)


def test_coco_bad_segmentation_names_file_and_annotation(task, tmp_path):
    import json

    root = make_coco(tmp_path / "coco")
    f = root / "annotations" / "instances_val2017.json"
    doc = json.loads(f.read_text())
    doc["annotations"][0]["segmentation"] = {"size": [24, 32], "counts": 5}
    f.write_text(json.dumps(doc))
    raw = task.formats()["coco"].load(root, "val", {})
    with pytest.raises(BadInput, match=r"instances_val2017\.json \(annotation id 1\)"):
        load_label(raw.targets[0], 5)
