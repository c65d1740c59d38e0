"""The bad-input corpus: each case is built on disk in its real format and run through the real CLI.

By default a bad input stops the command with exit status 1 and one ``error:`` line naming the file (and the field
or line inside it), never a traceback. With ``--skip-bad`` the bad image or annotation is skipped, warned about once
and counted. The CLI runs are independent subprocesses, so they run two at a time.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cvkit.errors import BadInput
from cvkit_detect.datasets.coco import CocoFormat
from cvkit_detect.datasets.voc import VocFormat
from tests.conftest import cvkit
from tests.plugins.classify.fixtures import make_imagenet_devkit

SIZE = 32
# 64 px input: at 32 px CenterNet's deepest map is 1x1 and BatchNorm fails on a batch left with one sample
TRAIN = ("--epochs", "1", "--img-size", "64", "--batch-size", "4")


# ----------------------------------------------------------------------------------------------------- builders
def image(path: Path, seed: int = 0) -> Path:
    """A real 32x32 image (format from the extension) with a bright square at pixels 8..19."""
    img = np.full((SIZE, SIZE, 3), 20 + 30 * seed, np.uint8)
    img[8:20, 8:20] = 230
    ok, buf = cv2.imencode(path.suffix, img)
    assert ok
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.tobytes())
    return path


def voc_xml(objects: list[tuple[str, tuple]], filename: str = "x.jpg") -> str:
    objs = "".join(
        f"<object><name>{name}</name><difficult>0</difficult><bndbox><xmin>{box[0]}</xmin><ymin>{box[1]}</ymin>"
        f"<xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox></object>" for name, box in objects)
    return (f"<annotation><filename>{filename}</filename><size><width>{SIZE}</width><height>{SIZE}</height>"
            f"<depth>3</depth></size>{objs}</annotation>\n")


GOOD = [("cat", (9, 9, 20, 20))]


def make_voc(root: Path, n_train: int = 4, n_val: int = 2) -> Path:
    """``root`` as a VOC year folder: ``t<k>`` train and ``v<k>`` val images of one cat each."""
    for d in ("Annotations", "ImageSets/Main", "JPEGImages"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for split, prefix, n in (("train", "t", n_train), ("val", "v", n_val)):
        ids = [f"{prefix}{k}" for k in range(n)]
        for k, i in enumerate(ids):
            image(root / "JPEGImages" / f"{i}.jpg", k)
            (root / "Annotations" / f"{i}.xml").write_text(voc_xml(GOOD, f"{i}.jpg"))
        (root / "ImageSets" / "Main" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
    return root


def add_voc(root: Path, split: str, image_id: str, xml: str | None = None, data: bytes | None = b"jpg") -> Path:
    """List ``image_id`` in ``split`` with annotation ``xml`` (default: one good cat) and image bytes ``data``
    (``b"jpg"``: a good JPEG; None: no image file). Returns the image path."""
    (root / "Annotations" / f"{image_id}.xml").write_text(xml if xml is not None else voc_xml(GOOD))
    split_file = root / "ImageSets" / "Main" / f"{split}.txt"
    split_file.write_text(split_file.read_text() + f"{image_id}\n")
    path = root / "JPEGImages" / f"{image_id}.jpg"
    if data == b"jpg":
        image(path)
    elif data is not None:
        path.write_bytes(data)
    return path


def coco_doc(images: list[tuple[int, str]], anns: list[dict]) -> dict:
    return {"info": {}, "licenses": [], "categories": [{"id": 17, "name": "cat"}],
            "images": [{"id": i, "file_name": f, "width": SIZE, "height": SIZE} for i, f in images],
            "annotations": [{"id": k + 1, "category_id": 17, "iscrowd": 0, **a} for k, a in enumerate(anns)]}


def make_coco(root: Path, extra_images: list[tuple[int, str]] = (), extra_anns: list[dict] = ()) -> dict[str, Path]:
    """A COCO root with train and val annotations, 3 images each; ``extra_*`` go into the train split."""
    files = {}
    for split, first in (("train", 1), ("val", 101)):
        ims = [(first + k, f"{first + k:012d}.jpg") for k in range(3)]
        for k, (_, name) in enumerate(ims):
            image(root / f"{split}2017" / name, k)
        anns = [{"image_id": i, "bbox": [8, 8, 12, 12], "area": 144.0} for i, _ in ims]
        if split == "train":
            ims, anns = ims + list(extra_images), anns + list(extra_anns)
        files[split] = root / "annotations" / f"instances_{split}2017.json"
        files[split].parent.mkdir(parents=True, exist_ok=True)
        files[split].write_text(json.dumps(coco_doc(ims, anns)))
    return files


TRUNCATED_XML = voc_xml(GOOD)[:70]  # cut inside <size>


def classify_checkpoint(path: Path) -> Path:
    """A real (untrained) checkpoint of the classification task, written by the library."""
    from cvkit.checkpoint import Checkpoint, save_checkpoint
    from cvkit.plugin import get_task
    from cvkit.task import DatasetInfo, ModelConfig

    info = DatasetInfo("digits", "imagefolder", "builtin:digits", "val", [str(i) for i in range(10)])
    model = ModelConfig("mlp", 16)
    save_checkpoint(Checkpoint("classify", model, info, get_task("classify").build_model(model, info).state_dict()),
                    path)
    return path


class _RunsCode:
    def __reduce__(self):  # unpickling this would create the marker file
        return (Path.touch, (Path(self.marker),))


# -------------------------------------------------------------------------------------------------------- cases
@dataclass
class Case:
    args: list[str]
    error: str  # the whole error line, or its start when it ends with "..."


CASES: dict[str, Callable[[Path, Path], Case]] = {}


def case(fn: Callable[[Path, Path], Case]) -> Callable[[Path, Path], Case]:
    CASES[fn.__name__] = fn
    return fn


def train_voc(root: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "detect", "--data", f"voc:{root}", *TRAIN, "--out", str(out), *extra]


@case
def missing_image_file(d: Path, ckpt: Path) -> Case:
    make_coco(d, extra_images=[(50, "gone.jpg")], extra_anns=[{"image_id": 50, "bbox": [1, 1, 5, 5]}])
    return Case(["train", "detect", "--data", f"coco:{d}", *TRAIN, "--out", str(d / "run")],
                f"error: {d / 'train2017' / 'gone.jpg'}: no such file")


@case
def zero_byte_image(d: Path, ckpt: Path) -> Case:
    img = add_voc(make_voc(d), "train", "bad", data=b"")
    return Case(train_voc(d, d / "run"), f"error: {img}: empty file (0 bytes)")


@case
def truncated_jpeg(d: Path, ckpt: Path) -> Case:
    data = image(d / "full.jpg").read_bytes()
    img = add_voc(make_voc(d), "train", "bad", data=data[: len(data) // 2])
    return Case(train_voc(d, d / "run"), f"error: {img}: not a readable image (...")


@case
def truncated_png(d: Path, ckpt: Path) -> Case:
    make_coco(d, extra_images=[(60, "cut.png")])
    data = image(d / "full.png").read_bytes()
    (d / "train2017" / "cut.png").write_bytes(data[: len(data) // 2])
    return Case(["train", "detect", "--data", f"coco:{d}", *TRAIN, "--out", str(d / "run")],
                f"error: {d / 'train2017' / 'cut.png'}: not a readable image (...")


@case
def text_file_named_jpg(d: Path, ckpt: Path) -> Case:
    img = add_voc(make_voc(d), "train", "bad", data=b"id,label\n1,cat\n")
    return Case(train_voc(d, d / "run"), f"error: {img}: not a readable image (unrecognised file signature)")


@case
def truncated_voc_xml(d: Path, ckpt: Path) -> Case:
    add_voc(make_voc(d), "train", "bad", xml=TRUNCATED_XML)
    xml = d / "Annotations" / "bad.xml"
    return Case(train_voc(d, d / "run"), f"error: {xml} (line 1, column 70): malformed XML: no element found")


@case
def voc_non_numeric_coordinate(d: Path, ckpt: Path) -> Case:
    add_voc(make_voc(d), "train", "bad", xml=voc_xml([*GOOD, ("cat", (3, 4, "2O", 9))]))
    xml = d / "Annotations" / "bad.xml"
    return Case(train_voc(d, d / "run"), f"error: {xml} (object[1].bndbox.xmax): <xmax> is not a number: '2O'")


@case
def truncated_coco_json(d: Path, ckpt: Path) -> Case:
    files = make_coco(d)
    text = files["train"].read_text()
    cut = text[: text.index('"annotations":') + len('"annotations":')]  # ends after a key, before its value
    files["train"].write_text(cut)
    return Case(["train", "detect", "--data", f"coco:{d}", *TRAIN, "--out", str(d / "run")],
                f"error: {files['train']} (line 1, column {len(cut) + 1}): malformed JSON: Expecting value")


@case
def coco_annotation_of_missing_image(d: Path, ckpt: Path) -> Case:
    files = make_coco(d, extra_anns=[{"image_id": 999, "bbox": [1, 1, 5, 5]}])
    return Case(["train", "detect", "--data", f"coco:{d}", *TRAIN, "--out", str(d / "run")],
                f"error: {files['train']} (annotations[3].image_id): unknown image_id 999")


@case
def image_listed_but_missing(d: Path, ckpt: Path) -> Case:
    img = add_voc(make_voc(d), "val", "v9", data=None)
    return Case(train_voc(d, d / "run"), f"error: {img}: no such file")


@case
def box_outside_image(d: Path, ckpt: Path) -> Case:
    add_voc(make_voc(d), "train", "bad", xml=voc_xml([*GOOD, ("cat", (40, 5, 60, 20))]))
    xml = d / "Annotations" / "bad.xml"
    return Case(train_voc(d, d / "run"),
                f"error: {xml} (object[1].bndbox): box (40, 5, 60, 20) lies entirely outside the 32x32 image")


@case
def degenerate_box(d: Path, ckpt: Path) -> Case:
    add_voc(make_voc(d), "train", "bad", xml=voc_xml([("cat", (20, 5, 10, 15))]))
    xml = d / "Annotations" / "bad.xml"
    return Case(train_voc(d, d / "run"),
                f"error: {xml} (object[0].bndbox): xmax/ymax smaller than xmin/ymin (20, 5, 10, 15)")


@case
def unknown_class_name(d: Path, ckpt: Path) -> Case:
    add_voc(make_voc(d), "train", "bad", xml=voc_xml([*GOOD, ("persn", (1, 1, 5, 5))]))
    for cls in ("cat", "person"):  # per-class image sets declare the classes, as in the real VOC layout
        (d / "ImageSets" / "Main" / f"{cls}_train.txt").write_text("t0 1\n")
    xml = d / "Annotations" / "bad.xml"
    return Case(train_voc(d, d / "run"),
                f"error: {xml} (object[1].name): unknown class 'persn': not one of the 20 VOC classes; "
                "did you mean 'person'?")


@case
def checkpoint_of_another_task(d: Path, ckpt: Path) -> Case:
    return Case(["eval", "detect", "--weights", str(ckpt)], f"error: {ckpt}: is a 'classify' checkpoint, not 'detect'")


@case
def pt_that_is_not_a_checkpoint(d: Path, ckpt: Path) -> Case:
    d.mkdir(parents=True)
    torch.save({"weight": torch.zeros(2)}, d / "plain.pt")
    return Case(["eval", "--weights", str(d / "plain.pt")],
                f"error: {d / 'plain.pt'}: not a cvkit checkpoint (no 'cvkit-checkpoint' marker); "
                "train one with `cvkit train`")


@case
def pickle_that_runs_code(d: Path, ckpt: Path) -> Case:
    d.mkdir(parents=True)
    evil = _RunsCode()
    evil.marker = str(d / "pwned")
    with open(d / "evil.pt", "wb") as fh:
        pickle.dump({"format": "cvkit-checkpoint", "x": evil}, fh)
    return Case(["eval", "--weights", str(d / "evil.pt")], f"error: {d / 'evil.pt'}: ...")


@case
def imagenet_ground_truth_out_of_range(d: Path, ckpt: Path) -> Case:
    root = make_imagenet_devkit(d, n_classes=3, per_class=1, size=(8, 8))
    gt = root / "ILSVRC2012_devkit_t12" / "data" / "ILSVRC2012_validation_ground_truth.txt"
    gt.write_text("1\n1001\n2\n")
    return Case(["train", "classify", "--data", f"imagenet:{root}", "--epochs", "1", "--out", str(d / "run")],
                f"error: {gt} (line 2): expected an ILSVRC2012_ID of a meta.mat leaf (1..3), got '1001'")


# ----------------------------------------------------------------------------------------------- skip-bad runs
def skip_images(d: Path) -> dict[str, Path]:
    """Bad images in both splits: 2 in train, 1 in val."""
    root = make_voc(d / "data")
    return {"root": root, "zero": add_voc(root, "train", "z", data=b""),
            "text": add_voc(root, "train", "txt", data=b"hello"), "gone": add_voc(root, "val", "vg", data=None)}


def skip_annotations(d: Path) -> dict[str, Path]:
    """Bad annotation files in train: malformed, degenerate box, out-of-image box, missing XML."""
    root = make_voc(d / "data")
    add_voc(root, "train", "cut", xml=TRUNCATED_XML)
    add_voc(root, "train", "flip", xml=voc_xml([("cat", (20, 5, 10, 15))]))
    add_voc(root, "train", "away", xml=voc_xml([("cat", (40, 40, 50, 50))]))
    add_voc(root, "train", "noxml")
    (root / "Annotations" / "noxml.xml").unlink()
    return {"root": root, **{k: root / "Annotations" / f"{k}.xml" for k in ("cut", "flip", "away", "noxml")}}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Build every case, then run all the CLI commands, two at a time."""
    base = tmp_path_factory.mktemp("corpus")
    classify = classify_checkpoint(base / "classify.pt")
    cases = {name: build(base / name, classify) for name, build in CASES.items()}
    jobs = {name: [c.args] for name, c in cases.items()}
    img = skip_images(base / "skip_images")
    ann = skip_annotations(base / "skip_annotations")
    coco = make_coco(base / "skip_coco", extra_anns=[{"image_id": 2, "bbox": [1, 1, -1, 1]},
                                                     {"image_id": 77, "bbox": [1, 1, 1, 1]}])
    (base / "preds.json").write_text(json.dumps([{"image_id": 1, "category_id": 17, "bbox": [8, 8, 12, 12],
                                                  "score": 0.9}]))
    run = base / "skip_images" / "run"
    jobs["skip_images"] = [train_voc(img["root"], run, "--skip-bad"),
                           ["eval", "--weights", str(run / "best.pt"), "--skip-bad", "--json"]]
    jobs["skip_annotations"] = [train_voc(ann["root"], base / "skip_annotations" / "run", "--skip-bad")]
    jobs["skip_coco"] = [["eval", "detect", "--data", f"coco:{coco['train']}", "--images",
                          str(base / "skip_coco" / "train2017"), "--predictions", str(base / "preds.json"),
                          "--skip-bad", "--json"]]
    with ThreadPoolExecutor(2) as pool:  # the longest jobs first
        order = sorted(jobs, key=lambda name: -len(jobs[name]) - name.startswith("skip"))
        done = dict(zip(order, pool.map(lambda name: [cvkit(*args) for args in jobs[name]], order), strict=True))
    procs = {name: runs[0] for name, runs in done.items()}
    procs["skip_images_eval"] = done["skip_images"][1]
    return {"base": base, "cases": cases, "procs": procs, "img": img, "ann": ann, "coco": coco}


@pytest.mark.parametrize("name", list(CASES))
def test_error_line(corpus: dict, name: str) -> None:
    proc, want = corpus["procs"][name], corpus["cases"][name].error
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and proc.stderr.rstrip().endswith(errors[0]), proc.stderr[-2000:]
    if want.endswith("..."):
        assert errors[0].startswith(want[:-3]) and len(errors[0]) > len(want), errors[0]
    else:
        assert errors[0] == want
    assert proc.stdout == ""


def test_malicious_pickle_never_runs(corpus: dict) -> None:
    assert corpus["procs"]["pickle_that_runs_code"].returncode == 1
    assert not (corpus["base"] / "pickle_that_runs_code" / "pwned").exists()


def test_skip_bad_images_counted_in_summary_and_eval(corpus: dict) -> None:
    proc, img = corpus["procs"]["skip_images"], corpus["img"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    for key in ("zero", "text", "gone"):
        assert proc.stderr.count(f"warning: skipped: {img[key]}: ") == 1  # once, although seen every epoch
    run = corpus["base"] / "skip_images" / "run"
    assert json.loads((run / "summary.json").read_text())["skipped_inputs"] == 3
    evaluated = corpus["procs"]["skip_images_eval"]
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    doc = json.loads(evaluated.stdout)
    assert doc["skipped"] == 1 and doc["num_samples"] == 2


def test_skip_bad_annotation_files(corpus: dict) -> None:
    proc, ann = corpus["procs"]["skip_annotations"], corpus["ann"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    warned = [line for line in proc.stderr.splitlines() if line.startswith("warning: skipped:")]
    assert sorted(warned) == sorted([
        f"warning: skipped: {ann['cut']} (line 1, column 70): malformed XML: no element found",
        f"warning: skipped: {ann['flip']} (object[0].bndbox): xmax/ymax smaller than xmin/ymin (20, 5, 10, 15)",
        f"warning: skipped: {ann['away']} (object[0].bndbox): box (40, 40, 50, 50) lies entirely outside the "
        "32x32 image",
        f"warning: skipped: {ann['noxml']}: annotation file not found",
    ])
    summary = json.loads((corpus["base"] / "skip_annotations" / "run" / "summary.json").read_text())
    assert summary["dataset"]["fingerprint"]["num_samples"] == 4 + 2  # the good train and val images
    assert VocFormat().load(ann["root"], "train", {"skip_bad": True}).skipped == 4
    assert summary["skipped_inputs"] == 4


def test_skip_bad_coco_entries(corpus: dict) -> None:
    proc, coco = corpus["procs"]["skip_coco"], corpus["coco"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"warning: skipped: {coco['train']}: 2 bad entries (first: annotations[3].bbox: bbox width and " \
           "height must be >= 0, got [1, 1, -1, 1])" in proc.stderr.splitlines()
    doc = json.loads(proc.stdout)
    # one exact detection on 1 of 3 images: recall 1/3 covers 34 of COCO's 101 recall thresholds at precision 1
    assert doc["num_samples"] == 3 and doc["metrics"]["AP50"] == pytest.approx(34 / 101, abs=1e-12)
    assert doc["metrics"]["AP50"] == pytest.approx(pycocotools_ap50(coco["train"], corpus["base"]), abs=1e-12)
    assert CocoFormat().load(coco["train"], "train", {"skip_bad": True}).skipped == 2
    assert doc["skipped"] == 2


def pycocotools_ap50(gt_file: Path, tmp: Path) -> float:
    """AP50 from pycocotools itself, on the ground truth without its two bad annotations."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    doc = json.loads(gt_file.read_text())
    doc["annotations"] = doc["annotations"][:3]
    (tmp / "clean.json").write_text(json.dumps(doc))
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(tmp / "clean.json"))
        ev = COCOeval(gt, gt.loadRes(str(tmp / "preds.json")), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[1])


# ------------------------------------------------------------------------------------ loader level, no subprocess
def test_partly_outside_and_zero_area_boxes_are_kept_as_given(tmp_path: Path) -> None:
    root = make_voc(tmp_path / "voc", n_train=0, n_val=0)
    add_voc(root, "train", "edge", xml=voc_xml([("cat", (-3, 20, 40, 30)), ("dog", (5, 5, 5, 5))]))
    t = VocFormat().load(root, "train", {}).targets[0]
    np.testing.assert_array_equal(t["boxes"], [[-4, 19, 40, 30], [4, 4, 5, 5]])
    files = make_coco(tmp_path / "coco", extra_anns=[{"image_id": 1, "bbox": [-5, 30, 10, 10]},
                                                     {"image_id": 2, "bbox": [32, 0, 0, 4]}])
    raw = CocoFormat().load(files["train"], "train", {})
    np.testing.assert_array_equal(raw.targets[0]["boxes"], [[8, 8, 20, 20], [-5, 30, 5, 40]])
    np.testing.assert_array_equal(raw.targets[1]["boxes"], [[8, 8, 20, 20], [32, 0, 32, 4]])


@pytest.mark.parametrize("bbox, reason", [
    ([10, 10, -4, 5], "bbox width and height must be >= 0, got [10, 10, -4, 5]"),
    ([33, 0, 4, 4], "lies entirely outside the 32x32 image 1"),
    ([0, -9, 4, 5], "lies entirely outside the 32x32 image 1"),
    ([0, 0, float("nan"), 4], "finite numbers"),
    ([0, 0, True, 4], "finite numbers"),
])
def test_coco_box_errors(tmp_path: Path, bbox: list, reason: str) -> None:
    files = make_coco(tmp_path, extra_anns=[{"image_id": 1, "bbox": bbox}])
    with pytest.raises(BadInput) as err:
        CocoFormat().load(files["train"], "train", {})
    assert err.value.where == "annotations[3].bbox" and reason in err.value.reason


def test_voc_class_lists(tmp_path: Path) -> None:
    def load(root: Path):
        return VocFormat().load(root, "train", {"skip_bad": True})

    custom = make_voc(tmp_path / "custom", n_train=0, n_val=0)
    add_voc(custom, "train", "a", xml=voc_xml([("widget", (1, 1, 5, 5)), ("person", (1, 1, 5, 5))]))
    assert load(custom).info.classes == ["person", "widget"]  # no listing files: the names found
    typo = make_voc(tmp_path / "typo", n_train=0, n_val=0)
    add_voc(typo, "train", "a", xml=voc_xml([("cat", (1, 1, 5, 5))]))
    add_voc(typo, "train", "b", xml=voc_xml([("Person", (1, 1, 5, 5))]))
    raw = load(typo)  # near-misses of VOC names among VOC names are typos, not new classes
    assert len(raw.info.classes) == 20 and raw.skipped == 1 and len(raw.sources) == 1
    (custom / "ImageSets" / "Main" / "widget_val.txt").write_text("a 1\n")  # listing files of any split count
    raw = load(custom)
    assert raw.info.classes == ["widget"] and raw.skipped == 1 and raw.sources == []

