"""Property-based fuzzing of the VOC XML and COCO JSON loaders: any input is either loaded into well-formed targets
or rejected with BadInput naming the file, never another exception; ``skip_bad`` never changes a clean load."""

from __future__ import annotations

import copy
import json
import re
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from cvkit.errors import BadInput
from cvkit.task import RawSplit
from cvkit.vision.cocoparse import parse_coco
from cvkit.vision.vocxml import parse_annotation
from cvkit_detect.datasets.coco import CocoFormat
from cvkit_detect.datasets.voc import VocFormat

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# ------------------------------------------------------------------------------------------------------ VOC XML
VOC_TAGS = ["annotation", "folder", "filename", "size", "width", "height", "depth", "segmented", "object", "name",
            "pose", "truncated", "difficult", "bndbox", "xmin", "ymin", "xmax", "ymax", "part", "x"]
NAMES = ["cat", "dog", "person", "persn", "Person", "dining table", "widget", "", " cat "]
PLAIN = st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=10)  # raw junk comes from st.binary
NUMBERISH = st.one_of(
    st.integers(-100, 600).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "1e999", "-1e999", "nan", "-0", "0x10", "1_0", "\u0661\u0662", "3 4", "12.5.1"]),
    st.just("9" * 400),
)
TEXT = st.one_of(st.none(), NUMBERISH, st.sampled_from(NAMES), PLAIN)


def element(tag: str, text: str | None, children: list[ET.Element]) -> ET.Element:
    e = ET.Element(tag)
    e.text = text
    e.extend(children)
    return e


TREE = st.recursive(
    st.builds(element, st.sampled_from(VOC_TAGS), TEXT, st.just([])),
    lambda kids: st.builds(element, st.sampled_from(VOC_TAGS), TEXT, st.lists(kids, max_size=5)),
    max_leaves=25,
)


@st.composite
def voc_tree(draw: st.DrawFn) -> ET.Element:
    """A VOC-shaped annotation whose every field may be missing, repeated, non-numeric or out of range."""
    root = ET.Element("annotation")

    def leaf(parent: ET.Element, tag: str, values: st.SearchStrategy) -> None:
        for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2]))):
            ET.SubElement(parent, tag).text = draw(values)

    leaf(root, "filename", st.one_of(st.just("a.jpg"), PLAIN))
    if draw(st.booleans()):
        size = ET.SubElement(root, "size")
        for tag in ("width", "height"):
            leaf(size, tag, st.one_of(st.integers(0, 64).map(str), NUMBERISH))
    for _ in range(draw(st.integers(0, 4))):
        obj = ET.SubElement(root, "object")
        leaf(obj, "name", st.one_of(st.sampled_from(NAMES), PLAIN))
        leaf(obj, "difficult", st.one_of(st.sampled_from(["0", "1"]), NUMBERISH))
        if draw(st.integers(0, 4)):
            bb = ET.SubElement(obj, "bndbox")
            if draw(st.booleans()):  # a box that is well-formed, though maybe outside the image
                x1, x2, y1, y2 = (str(v) for v in sorted(draw(st.lists(st.integers(-5, 70), min_size=4, max_size=4))))
                for tag, v in zip(("xmin", "xmax", "ymin", "ymax"), (x1, x2, y1, y2), strict=True):
                    ET.SubElement(bb, tag).text = v
            else:
                for tag in ("xmin", "ymin", "xmax", "ymax"):
                    leaf(bb, tag, st.one_of(st.integers(-5, 70).map(str), NUMBERISH))
        if draw(st.integers(0, 5)) == 0:
            obj.append(draw(TREE))
    # structural mutations: rename, drop or replace a random element, or graft a random subtree
    for _ in range(draw(st.integers(0, 3))):
        nodes = list(root.iter())
        node = draw(st.sampled_from(nodes))
        op = draw(st.sampled_from(["rename", "drop", "text", "graft"]))
        if op == "rename" and node is not root:
            node.tag = draw(st.sampled_from(VOC_TAGS))
        elif op == "drop" and node is not root:
            next(p for p in nodes if node in list(p)).remove(node)
        elif op == "text":
            node.text = draw(TEXT)
        else:
            node.append(draw(TREE))
    return root


def xml_bytes(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8")


VALID_XML = (b"<annotation><filename>a.jpg</filename><size><width>64</width><height>48</height></size><object>"
             b"<name>cat</name><difficult>0</difficult><bndbox><xmin>3</xmin><ymin>4</ymin><xmax>30</xmax>"
             b"<ymax>40</ymax></bndbox></object></annotation>")
VOC_TREE = voc_tree().map(xml_bytes)
XML = st.one_of(  # mostly VOC-shaped documents: junk bytes rarely get past the XML parser
    VOC_TREE, VOC_TREE, VOC_TREE,
    TREE.map(xml_bytes),
    st.integers(0, len(VALID_XML)).map(lambda n: VALID_XML[:n]),
    st.one_of(st.binary(max_size=120), st.text(max_size=120).map(lambda s: s.encode("utf-8", "surrogatepass"))),
)


def outcome(result: RawSplit | BadInput) -> str:
    """A coarse label of what happened, for ``--hypothesis-show-statistics``."""
    if isinstance(result, RawSplit):
        return f"loaded, {result.skipped} skipped"
    field = re.sub(r"\[\d+\]|\d+", "", result.where or "-")
    return f"rejected at {field}: {' '.join(result.reason.split()[:3])}"


def check_targets(raw: RawSplit) -> None:
    assert len(raw.sources) == len(raw.targets)
    for t in raw.targets:
        b = t["boxes"]
        assert b.shape == (len(t["labels"]), 4) and np.isfinite(b).all() and np.isfinite(t["area"]).all()
        assert (b[:, 2] >= b[:, 0]).all() and (b[:, 3] >= b[:, 1]).all()
        assert ((t["labels"] >= 0) & (t["labels"] < len(raw.info.classes))).all()
        assert min(t["size"]) >= 0
    json.dumps(raw.info.to_dict())  # checkpoints store it


@FUZZ
@given(data=XML)
@example(data=b'<?xml version="1.0" encoding="no-such-codec"?><annotation/>')
@example(data=b"<annotation><size><width>inf</width><height>nan</height></size></annotation>")
@example(data=b"<annotation><object><name>a</name><difficult>1e999</difficult><bndbox><xmin>1</xmin><ymin>1</ymin>"
              b"<xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>")
def test_fuzz_parse_annotation(tmp_path: Path, data: bytes) -> None:
    xml = tmp_path / "a.xml"
    xml.write_bytes(data)
    try:
        ann = parse_annotation(xml)
    except BadInput as exc:
        assert exc.path == str(xml)
        return
    h, w = ann["size"]
    assert isinstance(h, int) and isinstance(w, int) and h >= 0 and w >= 0
    for obj in ann["objects"]:
        x1, y1, x2, y2 = obj["box"]
        assert isinstance(obj["name"], str) and np.isfinite(obj["box"]).all() and x2 > x1 and y2 > y1


def voc_layout(base: Path, docs: list[bytes], listing: bool) -> Path:
    root = Path(tempfile.mkdtemp(dir=base)) / "VOC2012"
    for d in ("Annotations", "ImageSets/Main", "JPEGImages"):
        (root / d).mkdir(parents=True)
    for i, doc in enumerate(docs):
        (root / "Annotations" / f"{i:06d}.xml").write_bytes(doc)
    (root / "ImageSets/Main/val.txt").write_text("".join(f"{i:06d}\n" for i in range(len(docs))))
    if listing:
        for cls in ("cat", "dog", "widget"):
            (root / "ImageSets/Main" / f"{cls}_val.txt").write_text("000000 1\n")
    return root


def load_both(fmt: Any, path: Path, split: str) -> tuple[RawSplit | BadInput, RawSplit | BadInput]:
    """Load strictly and with skip_bad; anything but BadInput propagates (and fails the test)."""
    out: list[RawSplit | BadInput] = []
    for skip_bad in (False, True):
        try:
            out.append(fmt.load(path, split, {"skip_bad": skip_bad}))
        except BadInput as exc:
            out.append(exc)
    return out[0], out[1]


def same(a: RawSplit, b: RawSplit) -> bool:
    return a.sources == b.sources and a.info.classes == b.info.classes and all(
        np.array_equal(x["boxes"], y["boxes"]) and np.array_equal(x["labels"], y["labels"])
        for x, y in zip(a.targets, b.targets, strict=True))


@FUZZ
@given(docs=st.lists(st.one_of(XML, st.just(VALID_XML)), min_size=1, max_size=3), listing=st.booleans())
def test_fuzz_voc_load(tmp_path: Path, docs: list[bytes], listing: bool) -> None:
    root = voc_layout(tmp_path, docs, listing)
    strict, lenient = load_both(VocFormat(), root, "val")
    event(outcome(strict))
    event(f"skip_bad: {outcome(lenient)}")
    assert isinstance(lenient, RawSplit), lenient  # every problem is in one XML: skipping always succeeds
    check_targets(lenient)
    assert len(lenient.sources) + lenient.skipped == len(docs)
    if isinstance(strict, RawSplit):
        check_targets(strict)
        assert lenient.skipped == 0 and same(strict, lenient)
    else:
        assert strict.path.startswith(str(root / "Annotations")) and lenient.skipped >= 1


# ----------------------------------------------------------------------------------------------------- COCO JSON
KEYS = ["images", "annotations", "categories", "id", "image_id", "category_id", "bbox", "file_name", "name",
        "width", "height", "area", "iscrowd", "info"]
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.integers(-3, 5),
                   st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6), st.sampled_from(["a.jpg", ""]))
JSON_KEY = st.one_of(st.sampled_from(KEYS), st.text(max_size=4))
JSON = st.recursive(SCALAR, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(JSON_KEY, kids, max_size=4),
), max_leaves=15)


def valid_coco() -> dict[str, Any]:
    return {
        "info": {},
        "images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48},
                   {"id": "b", "file_name": "sub/b.jpg"}, {"id": 3, "file_name": "c.jpg", "width": 10, "height": 10}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 7, "bbox": [1.5, 2, 20, 30], "area": 600.0, "iscrowd": 0},
            {"id": 2, "image_id": "b", "category_id": 3, "bbox": [0, 0, 0, 5], "iscrowd": 1},
            {"id": 3, "image_id": 3, "category_id": 7, "bbox": [-4, 8, 6, 6]},
        ],
        "categories": [{"id": 7, "name": "cat"}, {"id": 3, "name": "dog"}],
    }


def containers(doc: Any, path: tuple = ()) -> list[tuple]:
    """Paths of every dict and list inside ``doc``."""
    out = [path] if isinstance(doc, (dict, list)) else []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    for k, v in items:
        out += containers(v, (*path, k))
    return out


@st.composite
def mutated_coco(draw: st.DrawFn) -> Any:
    """The valid document after a few random edits: a field replaced by any JSON value, deleted, wrapped in a
    list, or a container replaced by a scalar."""
    doc = copy.deepcopy(valid_coco())
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(containers(doc)))
        parent = doc
        for k in path:
            parent = parent[k]
        if not parent:
            continue
        key = draw(st.sampled_from(list(parent.keys()) if isinstance(parent, dict) else list(range(len(parent)))))
        op = draw(st.sampled_from(["replace", "replace", "delete", "wrap", "scalar"]))
        if op == "replace":
            parent[key] = draw(JSON)
        elif op == "delete":
            del parent[key]
        elif op == "wrap":
            parent[key] = [parent[key]]
        else:
            parent[key] = draw(SCALAR)
    return doc


VALID_JSON = json.dumps(valid_coco()).encode()
MUTATED = mutated_coco().map(lambda d: json.dumps(d).encode())
COCO_BYTES = st.one_of(  # mostly COCO-shaped documents
    MUTATED, MUTATED, MUTATED,
    JSON.map(lambda d: json.dumps(d).encode()),
    st.integers(0, len(VALID_JSON)).map(lambda n: VALID_JSON[:n]),
    st.binary(max_size=80),
)


@FUZZ
@given(data=COCO_BYTES)
@example(data=b'{"images": [{"id": 1, "file_name": "a.jpg", "width": ' + b"9" * 5000 + b'}], "categories": []}')
@example(data=b'{"images": [{"id": 1, "file_name": "a.jpg", "width": 1e400}], "categories": []}')
@example(data=b"[" * 100_000 + b"]" * 100_000)
@example(data=b'{"images": [{"id": 1, "file_name": "' + b"x" * 5000 + b'"}], "categories": []}')
@example(data=b'{"images": [{"id": [1], "file_name": "a"}], "categories": [{"id": {}}], "annotations": [{}]}')
def test_fuzz_coco(tmp_path: Path, data: bytes) -> None:
    event(run_coco(tmp_path, data))


def run_coco(tmp_path: Path, data: bytes) -> str:
    f = tmp_path / "instances_val2017.json"
    f.write_bytes(data)
    for skip_bad in (False, True):
        try:
            parse_coco(f, "instances", skip_bad=skip_bad)
        except BadInput as exc:
            assert exc.path == str(f)
    strict, lenient = load_both(CocoFormat(), f, "val")
    if isinstance(lenient, BadInput):  # only a file-level problem survives skip_bad, and it stops strict too
        assert isinstance(strict, BadInput) and str(strict) == str(lenient)
        assert lenient.where is None or lenient.where == "top level" or lenient.where.startswith("line")
        return outcome(strict)
    check_targets(lenient)
    if isinstance(strict, RawSplit):
        check_targets(strict)
        assert lenient.skipped == 0 and same(strict, lenient)
    else:
        assert strict.path == str(f) and lenient.skipped >= 1
    return outcome(strict)
