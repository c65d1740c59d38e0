"""Tar shards: exact round trips of annotations and image bytes; training, evaluation and prediction from shards
equal the source dataset's; every sample once across ranks and DataLoader workers; mid-epoch resume exact."""

from __future__ import annotations

import json
import tarfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from cvkit.data import load_split, materialize_builtin
from cvkit.errors import BadInput, CvkitError, UsageError
from cvkit.plugin import get_task
from cvkit.shards import parse_size, read_member, write_shards
from cvkit.shards.codec import NotStorable, decode, encode
from cvkit.vision.schema import ImageAnnotation, ObjectAnnotation
from tests.conftest import StopAfter, cvkit


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(source spec, shards spec) of the embedded digits, in shards of ~150 kB (several per split)."""
    task = get_task("classify")
    source = materialize_builtin(task, "digits")
    out = tmp_path_factory.mktemp("shards") / "digits"
    write_shards(task, source, out, ["train", "val"], parse_size("150KB"))
    return source, f"shards:{out}"


def _deep_equal(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and \
            a.tobytes() == b.tobytes()
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_deep_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(_deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, float) and np.isnan(a):
        return isinstance(b, float) and np.isnan(b)
    return type(a) is type(b) and a == b


def test_codec_round_trips_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    target = {
        "boxes": rng.random((3, 4)).astype(np.float32) * 1000, "labels": np.array([1, 0, 7], np.int64),
        "empty": np.zeros((0, 4), np.float64), "crowd": np.array([True, False]), "t": (1, 2.5, "x"),
        "by_id": {3: [0.1 + 0.2, float("nan"), float("inf")], (1, 2): None}, "n": np.float32(1 / 3),
        "ann": ImageAnnotation(7, "a.jpg", 64, 48, [ObjectAnnotation((0.5, 1.0, 3.25, 9.0), 2, category_id=18,
                                                                     bbox_xywh=(0.5, 1.0, 2.75, 8.0))]),
    }
    back = decode(json.loads(json.dumps(encode(target))))
    assert _deep_equal({k: v for k, v in target.items() if k not in ("ann", "n")},
                       {k: v for k, v in back.items() if k not in ("ann", "n")})
    assert back["ann"] == target["ann"] and type(back["n"]) is np.float32 and back["n"] == target["n"]
    other = tmp_path / "mask.png"
    other.write_bytes(b"x")
    with pytest.raises(NotStorable, match="mask.png"):
        encode({"mask": str(other)})
    assert encode(str(other), {str(other)}) == str(other)  # the sample's own image is stored anyway
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotStorable, match="mask.png"):  # relative paths too (segment's VOC targets)
        encode({"kind": "png", "file": "./mask.png"})
    with pytest.raises(NotStorable):
        encode(object())
    with pytest.raises(ValueError, match="refused class"):
        decode({"$dataclass": "subprocess:Popen", "fields": {}})


def test_split_equals_source_and_bytes_are_the_files(digits: tuple[str, str]) -> None:
    source, shards = digits
    task = get_task("classify")
    for split in ("train", "val"):
        a, b = load_split(task, source, split), load_split(task, shards, split)
        assert replace(b.info, spec=a.info.spec) == a.info
        assert b.targets == a.targets and len(b.sources) == len(a.sources)
        assert [Path(s).name for s in b.sources] == [Path(s).name for s in a.sources]  # file names kept
        for i in (0, 1, len(a.sources) // 2, len(a.sources) - 1):
            assert read_member(b.sources[i]) == Path(a.sources[i]).read_bytes()
    folder = Path(shards.partition(":")[2])
    assert len(list(folder.glob("train-*.tar"))) > 3
    with tarfile.open(folder / "val-000000.tar") as tar:  # a plain tar that any tool (or webdataset) reads
        names = tar.getnames()[:2]
        note = json.loads(tar.extractfile(names[1]).read())
    assert names[0].startswith("00000000/") and names[1] == names[0].rsplit(".", 1)[0] + ".json"
    assert decode(note["target"]) == load_split(task, source, "val").targets[0]


def _config(data: str, out: Path, augment: str = "none", **kw):
    from cvkit.engine.config import TrainConfig

    return TrainConfig(task="classify", data=data, epochs=1, out=str(out), seed=5, batch_size=48,
                       model_args={"augment": augment, "dropout": 0.1}, **kw)


def _train(data: str, out: Path, augment: str = "none", **kw) -> Path:
    from cvkit.engine.train import train

    return train(_config(data, out, augment, **kw), set())


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "last.pt", weights_only=True)["state_dict"]


def test_train_eval_predict_from_shards_equal_source(digits: tuple[str, str], tmp_path: Path) -> None:
    from cvkit.engine.predict_cli import run_predict

    source, shards = digits
    a, b = _train(source, tmp_path / "a"), _train(shards, tmp_path / "b")  # same workers: dropout draws
    wa, wb = _weights(a), _weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    ha, hb = (torch.load(r / "last.pt", weights_only=True)["history"] for r in (a, b))
    assert [{k: v for k, v in row.items() if k not in ("time", "data_wait")} for row in ha] == \
        [{k: v for k, v in row.items() if k not in ("time", "data_wait")} for row in hb]
    from cvkit.checkpoint import load_model
    from cvkit.engine.evaluate import evaluate_model

    task, model, ckpt = load_model(a / "last.pt")
    ea, eb = (evaluate_model(task, model, task.dataset(load_split(task, d, "val"), ckpt.model, train=False),
                             torch.device("cpu"), 32) for d in digits)
    assert ea.metrics == eb.metrics and ea.num_samples == eb.num_samples == 360
    # predict: the same records for the members of one shard as for the files they came from
    folder = Path(shards.partition(":")[2])
    raw_val = load_split(get_task("classify"), source, "val")
    records = {}
    for name, srcs in (("shard", [f"shards:{folder / 'val-000001.tar'}"]), ("files", raw_val.sources)):
        run_predict(None, a / "last.pt", srcs, "jsonl", str(tmp_path / f"{name}.jsonl"), None, 16, None, "torch",
                    "cpu", 0, None)
        records[name] = [json.loads(line) for line in (tmp_path / f"{name}.jsonl").read_text().splitlines()]
    assert records["shard"]
    by_index = {r["source"]: r for r in records["files"]}
    for r in records["shard"]:
        i = int(Path(r["source"]).parent.name)
        assert {**r, "source": None} == {**by_index[raw_val.sources[i]], "source": None}


def test_each_sample_once_across_ranks_and_workers(digits: tuple[str, str]) -> None:
    from cvkit.engine.loader import EpochSampler, make_loader

    task = get_task("classify")
    raw = load_split(task, digits[1], "val")
    from cvkit.task import ModelConfig

    ds = task.dataset(raw, ModelConfig("mlp", 16, {"augment": "none"}), train=False)
    seen: list[str] = []
    for rank in (0, 1):
        loader = make_loader(ds, task.collate, 7, EpochSampler(len(ds), True, 3, 0, rank, 2), 2, False)
        for batch, skipped in loader:
            assert not skipped
            seen += [m["source"] for m in batch.meta]
    assert len(seen) == len(raw.sources) == 360 and set(seen) == set(raw.sources)



def test_mid_epoch_resume_from_shards_is_exact(digits: tuple[str, str], tmp_path: Path) -> None:
    from cvkit.engine.train import Interrupted, fit, prepare

    # random augmentation seeded per sample, and dropout: both must continue exactly where they stopped
    full = _train(digits[1], tmp_path / "full", augment="light")
    run = prepare(_config(digits[1], tmp_path / "part", augment="light"), set())
    with pytest.raises(Interrupted):
        fit(run, StopAfter(10))  # 30 steps per epoch: stops in the middle
    saved = torch.load(tmp_path / "part" / "last.pt", weights_only=True)
    assert saved["epoch"] == 0 and saved["epoch_step"] == 11
    _train(digits[1], tmp_path / "part", augment="light", resume=str(tmp_path / "part" / "last.pt"))
    wa, wb = _weights(full), _weights(tmp_path / "part")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_bad_shards_name_the_file(digits: tuple[str, str], tmp_path: Path) -> None:
    task = get_task("classify")
    folder = Path(digits[1].partition(":")[2])
    with pytest.raises(CvkitError, match="no split 'test'"):
        load_split(task, digits[1], "test")
    assert load_split(task, f"wds:{folder}", "val").targets == load_split(task, digits[1], "val").targets
    with pytest.raises(CvkitError, match="written for task 'classify'"):
        load_split(get_task("detect"), digits[1], "val")
    with pytest.raises(CvkitError, match="not a shard folder"):
        load_split(task, f"shards:{tmp_path}", "val")
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in folder.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    raw = load_split(task, f"shards:{copy}", "val")
    last = Path(raw.sources[-1]).parent.parent
    last.write_bytes(last.read_bytes()[:600])  # truncated shard
    with pytest.raises(BadInput, match=r"val-\d+\.tar/00000359/.*truncated"):
        read_member(raw.sources[-1])
    with pytest.raises(BadInput, match="no such sample"):
        read_member(str(last / "00000001" / "nope.png"))
    for text in ("1 parsec", "10"):
        with pytest.raises(UsageError):
            parse_size(text)
    assert parse_size("1GB") == 10**9 and parse_size("64MiB") == 64 * 2**20


def test_shard_command_and_detection_targets(tmp_path: Path) -> None:
    from cvkit.data import publish_builtin

    task = get_task("detect")
    spec = publish_builtin(task.builtins()["shapes"], tmp_path / "src", "coco", 16, 0, "detect")
    out = tmp_path / "shapes"
    proc = cvkit("data", "shard", spec, "--task", "detect", "--out", str(out), "--split", "train,val",
                 "--shard-size", "100KB", check=True)
    assert proc.stdout.strip() == f"shards:{out}"
    for split in ("train", "val"):
        a, b = load_split(task, spec, split), load_split(task, f"shards:{out}", split)
        assert len(a.targets) == len(b.targets) > 0
        assert all(_deep_equal(x, y) for x, y in zip(a.targets, b.targets, strict=True))
        assert b.info.extra == a.info.extra  # COCO image ids by file name, category ids
    with pytest.raises(UsageError, match="not an empty folder"):
        write_shards(task, spec, out, ["val"], 10**9)
