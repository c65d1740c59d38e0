"""Dataset formats of the classification plugin: ImageFolder, ImageNet (3 layouts) and builtin:digits."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvkit.errors import BadInput, CvkitError, UsageError
from cvkit_classify.datasets import BUILTINS, FORMATS, DigitsBuiltin, ImageFolderFormat, ImageNetFormat
from cvkit_classify.datasets.digits import to_uint8
from cvkit_classify.datasets.imagenet import parse_ground_truth, parse_synset_mapping, parse_val_solution
from tests.plugins.classify.fixtures import (
    SYNSETS,
    leaf_ids,
    make_imagefolder,
    make_imagenet_devkit,
    make_imagenet_folders,
    make_imagenet_kaggle,
    make_meta_mat,
    val_labels,
    write_image,
)

IMAGEFOLDER = ImageFolderFormat()
IMAGENET = ImageNetFormat()
GT = Path("ILSVRC2012_devkit_t12", "data", "ILSVRC2012_validation_ground_truth.txt")


def names(raw) -> list[str]:
    return [Path(s).name for s in raw.sources]


def test_registries():
    assert list(FORMATS) == ["imagenet", "imagefolder"]  # imagenet first: its trees are ImageFolders too
    assert isinstance(FORMATS["imagenet"], ImageNetFormat) and isinstance(FORMATS["imagefolder"], ImageFolderFormat)
    assert isinstance(BUILTINS["digits"], DigitsBuiltin) and BUILTINS["digits"].formats == ("imagefolder",)


# ------------------------------------------------------------------------------------------------ imagefolder
def test_imagefolder_split_folders(tmp_path):
    root = make_imagefolder(tmp_path / "pets", classes=("dog", "cat", "bird"), per_class=2)
    raw = IMAGEFOLDER.load(root, "train", {})
    assert raw.info.classes == ["bird", "cat", "dog"]
    assert raw.targets == [0, 0, 1, 1, 2, 2]
    assert names(raw) == ["bird_0.png", "bird_1.png", "cat_0.png", "cat_1.png", "dog_0.png", "dog_1.png"]
    assert all(Path(s).parent.parent.name == "train" for s in raw.sources)
    val = IMAGEFOLDER.load(root, "valid", {})
    assert (val.info.split, val.info.format, val.info.name, val.info.extra) == ("val", "imagefolder", "pets",
                                                                                  {"layout": "splits"})
    assert val.info.spec == f"imagefolder:{root}" and val.files == [] and val.skipped == 0
    assert all(Path(s).parent.parent.name == "val" for s in val.sources)
    assert IMAGEFOLDER.detect(root)


def test_imagefolder_classes_are_the_union_of_splits(tmp_path):
    root = make_imagefolder(tmp_path, classes=("a", "b", "c"), per_class=1, splits=("train",))
    make_imagefolder(tmp_path, classes=("c",), per_class=2, splits=("valid",))  # Roboflow-style folder name
    val = IMAGEFOLDER.load(root, "val", {})
    assert val.info.classes == ["a", "b", "c"] and val.targets == [2, 2]


def test_imagefolder_flat_serves_every_split(tmp_path):
    root = make_imagefolder(tmp_path / "flat", classes=("x", "y"), per_class=2, splits=None)
    loaded = [IMAGEFOLDER.load(root, s, {}) for s in ("train", "val", "test")]
    assert loaded[0].sources == loaded[1].sources == loaded[2].sources
    assert loaded[0].targets == [0, 0, 1, 1] and loaded[0].info.extra == {"layout": "flat"}
    assert IMAGEFOLDER.detect(root)


def test_imagefolder_extensions_case_insensitive_and_order(tmp_path):
    cls = tmp_path / "train" / "k"
    kept = ["A.JPG", "b.Png", "c.jpeg", "d.TIFF", "e.webp", "f.Gif", "g.bmp", "h.tif"]
    for name in [*kept, "notes.txt", "._A.JPG", ".hidden.png", "model.pt"]:
        (cls / name).parent.mkdir(parents=True, exist_ok=True)
        (cls / name).write_bytes(b"x")
    (cls / "sub").mkdir()
    (cls / "sub" / "z.PNG").write_bytes(b"x")
    (cls / ".cache").mkdir()
    (cls / ".cache" / "y.png").write_bytes(b"x")
    raw = IMAGEFOLDER.load(tmp_path, "train", {})
    # torchvision's order: the class folder's files, then its subfolders'
    assert [str(Path(s).relative_to(cls)) for s in raw.sources] == [*kept, os.path.join("sub", "z.PNG")]


def test_imagefolder_missing_split_lists_what_was_found(tmp_path):
    root = make_imagefolder(tmp_path, per_class=1, splits=("train", "val"))
    with pytest.raises(BadInput) as err:
        IMAGEFOLDER.load(root, "test", {})
    assert str(root) in str(err.value) and "test/" in str(err.value) and "found: train/, val/" in str(err.value)


def test_imagefolder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInput, match="no class folders"):
        IMAGEFOLDER.load(tmp_path / "empty", "train", {})
    (tmp_path / "noimg" / "cat").mkdir(parents=True)
    (tmp_path / "noimg" / "cat" / "a.txt").write_text("x")
    with pytest.raises(BadInput, match="no images"):
        IMAGEFOLDER.load(tmp_path / "noimg", "train", {})
    with pytest.raises(BadInput, match="not a folder"):
        IMAGEFOLDER.load(tmp_path / "missing", "train", {})
    with pytest.raises(UsageError):
        IMAGEFOLDER.load(tmp_path / "noimg", "holdout", {})
    assert not IMAGEFOLDER.detect(tmp_path / "empty") and not IMAGEFOLDER.detect(tmp_path / "noimg")
    assert not IMAGEFOLDER.detect(tmp_path / "noimg" / "cat" / "a.txt")


# ---------------------------------------------------------------------------------------------------- imagenet
def test_devkit_maps_ids_through_wnids_never_id_minus_one(tmp_path):
    synsets = SYNSETS[:3]  # sorted: tench n01440764, goldfish n01443537, great white shark n01484850
    meta = make_meta_mat(tmp_path / "ILSVRC2012_devkit_t12" / "data" / "meta.mat", synsets, ids=[3, 1, 2])
    gt_ids = [1, 3, 2, 2, 1]  # ID 1 = goldfish (index 1), 3 = tench (0), 2 = great white shark (2)
    (tmp_path / GT).write_text("".join(f"{i}\n" for i in gt_ids))
    for k in range(1, 6):
        write_image(tmp_path / "val" / f"ILSVRC2012_val_{k:08d}.JPEG", (8, 8), 0)
    raw = IMAGENET.load(tmp_path, "val", {})
    assert raw.targets == [1, 0, 2, 2, 1]  # ID - 1 would give [0, 2, 1, 1, 0]
    assert names(raw) == [f"ILSVRC2012_val_{k:08d}.JPEG" for k in range(1, 6)]
    assert raw.info.classes == ["tench", "goldfish", "great white shark"]
    assert raw.info.extra["wnids"] == ["n01440764", "n01443537", "n01484850"]
    assert raw.info.extra["words"][0] == "tench, Tinca tinca" and raw.info.extra["layout"] == "devkit"
    assert raw.files == [meta, tmp_path / GT] and raw.skipped == 0
    assert IMAGENET.detect(tmp_path)


def test_devkit_builder_train_and_val(tmp_path):
    root = make_imagenet_devkit(tmp_path, n_classes=4, per_class=3)
    assert leaf_ids(4) != sorted(leaf_ids(4))
    val = IMAGENET.load(root, "val", {})
    assert val.targets == val_labels(4, 3) and len(val.info.classes) == 4  # non-leaf synsets ignored
    train = IMAGENET.load(root, "train", {})
    assert train.targets == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3] and train.info.classes == val.info.classes
    assert train.info.extra["layout"] == "folders" and train.files == [root / GT.parent / "meta.mat"]


def test_devkit_found_one_level_down(tmp_path):
    make_imagenet_devkit(tmp_path / "kit", n_classes=3, per_class=1, train=False)
    os.renames(tmp_path / "kit" / "val", tmp_path / "val")
    os.renames(tmp_path / "kit" / "ILSVRC2012_devkit_t12", tmp_path / "devkit" / "ILSVRC2012_devkit_t12")
    assert IMAGENET.load(tmp_path, "val", {}).targets == val_labels(3, 1)


def test_reorganised_val_without_and_with_meta(tmp_path):
    root = make_imagenet_folders(tmp_path, n_classes=3, per_class=2)
    raw = IMAGENET.load(root, "val", {})
    assert raw.targets == [0, 0, 1, 1, 2, 2] and raw.info.classes == [w for w, _ in SYNSETS[:3]]  # no words known
    assert raw.info.extra["layout"] == "folders" and raw.files == []
    # a devkit's meta.mat fixes the classes to all of its leaves, whatever folders are present
    make_meta_mat(root / GT.parent / "meta.mat", SYNSETS[:5], ids=[5, 4, 3, 2, 1])
    raw = IMAGENET.load(root, "val", {})
    assert len(raw.info.classes) == 5 and raw.info.classes[3] == "tiger shark" and raw.targets == [0, 0, 1, 1, 2, 2]


def test_folder_classes_are_the_union_of_splits(tmp_path):
    make_imagenet_folders(tmp_path, n_classes=2, per_class=1, splits=("train",))
    write_image(tmp_path / "val" / SYNSETS[2][0] / "ILSVRC2012_val_00000001.JPEG", (8, 8), 2)
    assert IMAGENET.load(tmp_path, "val", {}).targets == [2]
    assert IMAGENET.load(tmp_path, "train", {}).info.extra["wnids"] == [w for w, _ in SYNSETS[:3]]


def test_kaggle_layout(tmp_path):
    root = make_imagenet_kaggle(tmp_path, n_classes=3, per_class=2)
    val = IMAGENET.load(root, "val", {})
    assert val.targets == val_labels(3, 2) and names(val)[0] == "ILSVRC2012_val_00000001.JPEG"
    assert val.info.classes == ["tench", "goldfish", "great white shark"] and val.info.extra["layout"] == "kaggle"
    assert val.files == [root / "LOC_synset_mapping.txt", root / "LOC_val_solution.csv"]
    train = IMAGENET.load(root, "train", {})
    assert train.targets == [0, 0, 1, 1, 2, 2]
    assert IMAGENET.detect(root) and not IMAGENET.detect(root / "ILSVRC")


def test_duplicate_first_names_get_their_wnid(tmp_path):
    (tmp_path / "LOC_synset_mapping.txt").write_text("n02012849 crane\nn03126707 crane\nn01440764 tench, Tinca\n")
    synsets = parse_synset_mapping(tmp_path / "LOC_synset_mapping.txt")
    assert synsets.class_names() == ["tench", "crane (n02012849)", "crane (n03126707)"]


def test_detect(tmp_path):
    assert IMAGENET.detect(make_imagenet_folders(tmp_path / "a", n_classes=2, per_class=1))
    assert not IMAGENET.detect(make_imagefolder(tmp_path / "b", per_class=1))
    flat = make_imagenet_devkit(tmp_path / "c", n_classes=2, per_class=1, train=False)
    assert IMAGENET.detect(flat) and IMAGEFOLDER.detect(tmp_path / "a") and not IMAGEFOLDER.detect(flat)
    (tmp_path / "d").mkdir()
    assert not IMAGENET.detect(tmp_path / "d") and not IMAGENET.detect(tmp_path / "nowhere")


# ------------------------------------------------------------------------------------------ imagenet errors
def devkit(tmp_path: Path, lines: list[str]) -> Path:
    root = make_imagenet_devkit(tmp_path, n_classes=3, per_class=2, train=False)
    (root / GT).write_text("".join(f"{line}\n" for line in lines))
    return root


def message(exc: pytest.ExceptionInfo) -> str:
    return str(exc.value)


def test_error_missing_ground_truth(tmp_path):
    root = make_imagenet_devkit(tmp_path, n_classes=2, per_class=1, train=False)
    (root / GT).unlink()
    with pytest.raises(BadInput) as err:
        IMAGENET.load(root, "val", {})
    assert str(root / GT) in message(err) and "file not found" in message(err)


@pytest.mark.parametrize("bad", ["abc", "1001", "0", "-1", "2.0", ""])
def test_error_bad_ground_truth_line(tmp_path, bad):
    root = devkit(tmp_path, ["1", "2", bad, "3", "1", "2"])
    with pytest.raises(BadInput) as err:
        IMAGENET.load(root, "val", {})
    assert f"{root / GT} (line 3):" in message(err) and "1..3" in message(err)
    raw = IMAGENET.load(root, "val", {"skip_bad": True})  # the bad line's image is skipped, the rest keep labels
    ids = leaf_ids(3)
    expected = [ids.index(i) for i in (1, 2, 3, 1, 2)]
    assert raw.skipped == 1 and raw.targets == expected and "ILSVRC2012_val_00000003.JPEG" not in names(raw)


def test_error_ground_truth_line_count(tmp_path):
    root = devkit(tmp_path, ["1", "2", "3", "1", "2"])
    with pytest.raises(BadInput) as err:
        IMAGENET.load(root, "val", {})
    assert str(root / GT) in message(err) and "5 lines for 6 images" in message(err)
    assert IMAGENET.load(root, "val", {"skip_bad": True}).skipped == 1


def test_skip_bad_subset_matches_images_by_number(tmp_path):
    root = make_imagenet_devkit(tmp_path, n_classes=3, per_class=2, train=False)
    (root / "val" / "ILSVRC2012_val_00000002.JPEG").unlink()
    raw = IMAGENET.load(root, "val", {"skip_bad": True})
    labels = val_labels(3, 2)
    assert raw.targets == labels[:1] + labels[2:] and raw.skipped == 0


def test_error_meta_mat(tmp_path):
    root = make_imagenet_devkit(tmp_path, n_classes=2, per_class=1, train=False)
    meta = root / GT.parent / "meta.mat"
    make_meta_mat(meta, SYNSETS[:2], [1, 2], fields=("ILSVRC2012_ID", "words", "num_children"))
    with pytest.raises(BadInput) as err:
        IMAGENET.load(root, "val", {})
    assert str(meta) in message(err) and "WNID" in message(err)
    meta.write_bytes(b"MATLAB 5.0 MAT-file, truncated")
    with pytest.raises(BadInput, match="meta.mat"):
        IMAGENET.load(root, "val", {})
    meta.unlink()
    with pytest.raises(BadInput) as err:
        IMAGENET.load(root, "val", {})
    assert str(meta) in message(err) and "file not found" in message(err)


def test_error_kaggle_unknown_wnid(tmp_path):
    root = make_imagenet_kaggle(tmp_path, n_classes=3, per_class=2)
    csv_path = root / "LOC_val_solution.csv"
    lines = csv_path.read_text().splitlines()
    lines[3] = lines[3].split(",")[0] + ",n09999999 1 2 3 4"
    image = lines[3].split(",")[0]
    csv_path.write_text("\n".join(lines) + "\n")
    with pytest.raises(BadInput) as err:
        IMAGENET.load(root, "val", {})
    assert f"{csv_path} (line 4):" in message(err) and "n09999999" in message(err)
    raw = IMAGENET.load(root, "val", {"skip_bad": True})
    assert raw.skipped == 1 and len(raw.sources) == 5 and f"{image}.JPEG" not in names(raw)
    by_name = dict(zip(names(raw), raw.targets, strict=True))
    assert all(by_name[f"ILSVRC2012_val_{k:08d}.JPEG"] == c for k, c in enumerate(val_labels(3, 2), 1)
               if f"ILSVRC2012_val_{k:08d}" != image)


def test_error_kaggle_image_without_row_and_bad_header(tmp_path):
    root = make_imagenet_kaggle(tmp_path, n_classes=2, per_class=1)
    write_image(root / "ILSVRC" / "Data" / "CLS-LOC" / "val" / "ILSVRC2012_val_00000099.JPEG", (8, 8), 0)
    with pytest.raises(BadInput, match="no row for image ILSVRC2012_val_00000099.JPEG"):
        IMAGENET.load(root, "val", {})
    assert IMAGENET.load(root, "val", {"skip_bad": True}).skipped == 1
    (root / "LOC_val_solution.csv").write_text("id,label\n")
    with pytest.raises(BadInput, match=r"LOC_val_solution.csv \(line 1\)"):
        IMAGENET.load(root, "val", {"skip_bad": True})


def test_error_mapping_line(tmp_path):
    root = make_imagenet_kaggle(tmp_path, n_classes=2, per_class=1)
    (root / "LOC_synset_mapping.txt").write_text("n01440764 tench\ntench n01443537\n")
    with pytest.raises(BadInput) as err:
        IMAGENET.load(root, "train", {})
    assert f"{root / 'LOC_synset_mapping.txt'} (line 2):" in message(err)


def test_error_missing_split_and_unlabelled_test(tmp_path):
    root = make_imagenet_folders(tmp_path, n_classes=2, per_class=1, splits=("train",))
    with pytest.raises(BadInput) as err:
        IMAGENET.load(root, "val", {})
    assert str(root) in message(err) and "no val/ folder" in message(err) and "found: train/" in message(err)
    write_image(root / "test" / "ILSVRC2012_test_00000001.JPEG", (8, 8), 0)
    with pytest.raises(BadInput, match="no labels"):
        IMAGENET.load(root, "test", {})


def test_error_wnid_folder_not_in_meta(tmp_path):
    root = make_imagenet_devkit(tmp_path, n_classes=2, per_class=2)
    write_image(root / "train" / "n09999999" / "n09999999_1.JPEG", (8, 8), 0)
    with pytest.raises(BadInput) as err:
        IMAGENET.load(root, "train", {})
    assert str(root / "train" / "n09999999") in message(err) and "meta.mat" in message(err)
    raw = IMAGENET.load(root, "train", {"skip_bad": True})
    assert raw.skipped == 1 and raw.targets == [0, 0, 1, 1]


# ------------------------------------------------------------------------------------------- parser fuzzing
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
WNIDS = [w for w, _ in SYNSETS[:3]]
LINE = st.one_of(st.integers(-3, 1002).map(str), st.sampled_from(WNIDS), st.text(max_size=12))
TEXT = st.one_of(st.binary(max_size=200), st.lists(LINE, max_size=8).map(lambda ls: "\n".join(ls).encode()))
ROW = st.tuples(st.text(max_size=8), st.sampled_from([*WNIDS, "n09999999", "", '"', "a,b"]), st.text(max_size=6))
CSV = st.one_of(TEXT, st.lists(ROW, max_size=6).map(
    lambda rows: ("ImageId,PredictionString\n" + "\n".join(f"{a},{w} {b}" for a, w, b in rows)).encode()))


@FUZZ
@given(data=TEXT, skip_bad=st.booleans())
def test_fuzz_ground_truth_and_mapping(tmp_path, data, skip_bad):
    path = tmp_path / "fuzz.txt"
    path.write_bytes(data)
    try:
        labels, skipped = parse_ground_truth(path, {1: 2, 2: 0, 3: 1}, skip_bad)
        assert all(x in (0, 1, 2, None) for x in labels) and skipped == labels.count(None)
    except BadInput as exc:
        assert str(path) in str(exc)
    try:
        synsets = parse_synset_mapping(path)
        assert synsets.wnids == sorted(synsets.wnids) and len(synsets.class_names()) == len(synsets.wnids)
    except BadInput as exc:
        assert str(path) in str(exc)


@FUZZ
@given(data=CSV, skip_bad=st.booleans())
def test_fuzz_val_solution(tmp_path, data, skip_bad):
    path = tmp_path / "LOC_val_solution.csv"
    path.write_bytes(data)
    try:
        labels, skipped = parse_val_solution(path, {w: i for i, w in enumerate(WNIDS)}, skip_bad)
        assert set(labels.values()) <= {0, 1, 2, None} and (skip_bad or skipped == 0)
    except BadInput as exc:
        assert str(path) in str(exc)


# ------------------------------------------------------------------------------------------------------ digits
def tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))


def test_digits_write_load_round_trip(tmp_path):
    from sklearn.datasets import load_digits

    out = tmp_path / "digits"
    assert DigitsBuiltin().write(out, "imagefolder", None, 0) == f"imagefolder:{out}"
    train, val = IMAGEFOLDER.load(out, "train", {}), IMAGEFOLDER.load(out, "val", {})
    assert len(train.sources) + len(val.sources) == 1797 and len(val.sources) == 360
    assert train.info.classes == [str(d) for d in range(10)]
    digits = load_digits()
    index = [int(Path(s).stem) for s in train.sources + val.sources]
    assert sorted(index) == list(range(1797))  # every sample once
    assert [int(digits.target[i]) for i in index] == train.targets + val.targets
    class_counts, val_counts = Counter(digits.target.tolist()), Counter(val.targets)
    assert all(abs(val_counts[c] - 0.2 * n) <= 1 for c, n in class_counts.items())  # stratified
    for source in val.sources[::50]:
        image = cv2.imread(source, cv2.IMREAD_UNCHANGED)
        assert image.dtype == np.uint8 and image.shape == (8, 8)  # 8-bit grayscale
        np.testing.assert_array_equal(image, to_uint8(digits.images[int(Path(source).stem)]))
    assert to_uint8(np.array([0.0, 8.0, 16.0])).tolist() == [0, 128, 255]
    assert not [p for p in tmp_path.iterdir() if p.name != "digits"]  # no temporary folder left


def test_digits_deterministic_per_seed_and_size(tmp_path):
    builtin = DigitsBuiltin()
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        builtin.write(tmp_path / name, "imagefolder", 100, seed)
    a, b, c = (tree(tmp_path / n) for n in "abc")
    assert a == b and a != c and len(a) == len(c) == 100
    val = [p for p in a if p.startswith("val/")]
    assert len(val) == 20 and Counter(p.split("/")[1] for p in val) == {str(d): 2 for d in range(10)}
    builtin.write(tmp_path / "d", "imagefolder", 5, 3)  # tiny sizes still split
    assert len(tree(tmp_path / "d")) == 5 and IMAGEFOLDER.load(tmp_path / "d", "val", {}).info.classes[9] == "9"


def test_digits_refuses_foreign_folder_and_format(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.tex").write_text("keep me")
    with pytest.raises(CvkitError, match="not empty"):
        DigitsBuiltin().write(tmp_path / "out", "imagefolder", 20, 0)
    assert os.listdir(tmp_path) == ["out"] and os.listdir(tmp_path / "out") == ["thesis.tex"]
    with pytest.raises(UsageError):
        DigitsBuiltin().write(tmp_path / "x", "coco", None, 0)
