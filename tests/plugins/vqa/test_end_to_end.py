"""VQA end to end on a tiny scenes set: train one epoch through the CLI, predict from IMAGE<TAB>QUESTION lines,
score predict's JSONL and the official results file with ``eval --predictions`` to the same numbers; models,
ablations and bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch

from cvkit.engine.evaluate_cli import run_eval
from cvkit.engine.predict_cli import run_predict
from cvkit.errors import BadInput
from cvkit.plugin import get_task
from cvkit.task import ModelConfig
from cvkit.vision.scenes import QUESTION_TYPES
from cvkit_vqa.datasets.scenes import ScenesBuiltin
from tests.conftest import cvkit


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vqadata") / "scenes"
    ScenesBuiltin().write(out, "vqa2", 30, 0)
    return out


@pytest.fixture(scope="module")
def run(scenes, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vqarun") / "run"
    cvkit("train", "vqa", "--data", f"vqa2:{scenes}", "--epochs", "1", "--batch-size", "16", "--out", str(out),
          check=True)
    return out


def test_scenes_in_vqa_v2_layout(scenes):
    qs = json.loads((scenes / "v2_OpenEnded_mscoco_val2014_questions.json").read_text())["questions"]
    anns = json.loads((scenes / "v2_mscoco_val2014_annotations.json").read_text())["annotations"]
    assert [q["question_id"] for q in qs] == [a["question_id"] for a in anns]
    assert all(len(a["answers"]) == 10 and a["question_type"] in QUESTION_TYPES for a in anns)
    assert (scenes / "val2014" / f"COCO_val2014_{qs[0]['image_id']:012d}.jpg").is_file()


def test_train_predict_eval_round_trip(run, scenes, tmp_path, monkeypatch):
    summary = json.loads((run / "summary.json").read_text())
    assert {"val_accuracy", "val_type_exist", "val_answer_yes_no"} <= set(summary["final"])
    direct = run_eval(None, run / "best.pt", None, "val", None, None)
    qs = json.loads((scenes / "v2_OpenEnded_mscoco_val2014_questions.json").read_text())["questions"]
    assert direct["num_samples"] == len(qs)
    lines = [f"{scenes}/val2014/COCO_val2014_{q['image_id']:012d}.jpg\t{q['question']}\t{q['question_id']}"
             for q in qs]
    jsonl, official = tmp_path / "p.jsonl", tmp_path / "results.json"
    for fmt, out in (("jsonl", jsonl), ("coco", official)):  # questions end in "?": lines come on stdin
        monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
        run_predict("vqa", run / "best.pt", ["-"], fmt, str(out), None, 8, None, "torch", "cpu", 0, None)
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["question_id"] for r in records] == [q["question_id"] for q in qs]
    assert all(r["answer"] == r["topk"][0]["answer"] for r in records)
    results = json.loads(official.read_text())
    assert results[0] == {"question_id": qs[0]["question_id"], "answer": records[0]["answer"]}
    for path in (jsonl, official):
        scored = run_eval("vqa", None, f"vqa2:{scenes}", "val", None, path)
        assert scored["metrics"] == direct["metrics"]
    assert run_eval("vqa", None, f"vqa2:{scenes}", "val", "official-2017", official)["metrics"]["accuracy"] \
        == pytest.approx(direct["metrics"]["accuracy"])  # plain lower-case answers: both versions agree


def test_a_question_is_needed_to_predict(run, scenes, tmp_path):
    image = str(next((scenes / "val2014").glob("*.jpg")))
    out = tmp_path / "p.jsonl"
    stats = run_predict("vqa", run / "best.pt", [image], "jsonl", str(out), None, 1, None, "torch", "cpu", 0, None)
    assert stats.errors == 1 and "no question" in out.read_text()


TWO_HOPS = {"layers": 2, "grid_coords": True}  # stacked attention over cells that carry their x and y
RELATIVE = {"layers": 2, "relative": True}  # the second hop reads cell positions relative to the first hop's
FILM = {"film": 2, "film_width": 16}  # question-conditioned residual blocks on the grid before the attention
PAIRS = {"pairs": True, "pair_local": True, "pair_words": True, "mirror": True}  # a hop over pairs of cells


@pytest.mark.parametrize("name,args", [("ibowimg", {}), ("lstm-fusion", {"fusion": "concat"}),
                                       ("attention", {}), ("attention", TWO_HOPS),
                                       ("attention", {**TWO_HOPS, "use_image": False}),
                                       ("lstm-fusion", {"use_question": False}),
                                       ("attention", {**TWO_HOPS, "use_question": False}),
                                       ("attention", RELATIVE), ("attention", {**RELATIVE, "use_image": False}),
                                       ("attention", {**RELATIVE, "use_question": False}),
                                       ("attention", FILM), ("attention", {**FILM, "use_image": False}),
                                       ("attention", {**FILM, "use_question": False}),
                                       ("attention", {"pairs": True}), ("attention", PAIRS),
                                       ("attention", {**PAIRS, "use_image": False}),
                                       ("attention", {**PAIRS, "use_question": False})])
def test_models_train_a_step(scenes, name, args):
    from cvkit.data import load_split

    task = get_task("vqa")
    raw = load_split(task, f"vqa2:{scenes}", "train")
    cfg = ModelConfig(name, 64, args, task.mean, task.std)
    model = task.build_model(cfg, raw.info)
    ds = task.dataset(raw, cfg, train=True)
    batch = task.collate([ds[i] for i in range(8)])
    torch.manual_seed(0)
    loss = task.train_step(model, batch)["loss"]
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    model.eval()
    with torch.no_grad():
        preds = task.predict_step(model, batch)
    assert all(p["answer"] in model.answers for p in preds)
    if args.get("use_image") is False:  # question only: the answer cannot depend on the image
        one = task.dataset(raw, cfg, train=False)  # one sample per question
        same_q = task.collate([{**one[0], "image": ds[k]["image"]} for k in range(4)])
        with torch.no_grad():
            logits = task._logits(model, same_q)
        assert torch.allclose(logits, logits[:1].expand_as(logits))
    if args.get("use_question") is False:  # image only: neither the words nor the length of the question count
        one = task.dataset(raw, cfg, train=False)
        by_image: dict[str, list] = {}
        for k in range(len(one)):
            by_image.setdefault(raw.targets[k]["image"], []).append(k)
        group = next(g for g in by_image.values() if len({len(one[k]["question"].split()) for k in g}) > 1)
        picks = [one[k] for k in group]  # one image, questions of different lengths
        with torch.no_grad():
            logits = task._logits(model, task.collate(picks))
        assert torch.allclose(logits, logits[:1].expand_as(logits))


def test_bad_annotations_are_named(scenes, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in scenes.glob("*.json"):
        (bad / f.name).write_text(f.read_text())
    ann = bad / "v2_mscoco_val2014_annotations.json"
    doc = json.loads(ann.read_text())
    doc["annotations"][1]["answers"] = "yes"
    ann.write_text(json.dumps(doc))
    fmt = get_task("vqa").formats()["vqa2"]
    with pytest.raises(BadInput, match=r"v2_mscoco_val2014_annotations.json.*annotations\[1\]"):
        fmt.load(bad, "val", {})
    assert fmt.load(bad, "val", {"skip_bad": True}).skipped == 2  # the entry, and its question left unanswered


def test_training_groups_questions_by_image(scenes):
    """Training samples carry every question of one image; the image is encoded once and the logits equal those
    of the per-question batch (eval mode, same weights)."""
    from cvkit.data import load_split

    task = get_task("vqa")
    raw = load_split(task, f"vqa2:{scenes}", "train")
    cfg = ModelConfig("attention", 64, {}, task.mean, task.std)
    model = task.build_model(cfg, raw.info).eval()
    grouped, single = task.dataset(raw, cfg, train=True), task.dataset(raw, cfg, train=False)
    assert len(grouped) == len({t["image"] for t in raw.targets}) < len(single)
    assert sum(len(grouped[i]["questions"]) for i in range(len(grouped))) == len(single)
    g = task.collate([grouped[0], grouped[1]])
    n = len(g.targets)
    s = task.collate([single[i] for i in range(n)])
    assert [m["question_id"] for m in g.meta] == [m["question_id"] for m in s.meta]
    with torch.no_grad():
        assert torch.allclose(task._logits(model, g), task._logits(model, s), atol=1e-5)


def test_mirror_flips_image_and_sides(scenes):
    """``mirror=true``: about half the draws flip the image left to right and swap "left"/"right" in the questions
    and answers (nothing else changes); without it every draw is the stored image and text."""
    from cvkit.data import load_split
    from cvkit_vqa.data import mirror_text

    assert mirror_text("what is Left of the red LEFT square, right?") == "what is Right of the red RIGHT square, left?"
    assert mirror_text("upright leftover") == "upright leftover"
    task = get_task("vqa")
    raw = load_split(task, f"vqa2:{scenes}", "train")
    plain = task.dataset(raw, ModelConfig("attention", 64, {}, task.mean, task.std), train=True)
    mirrored = task.dataset(raw, ModelConfig("attention", 64, {"mirror": True}, task.mean, task.std), train=True)
    assert not plain.random_transforms and mirrored.random_transforms
    index = next(i for i in range(len(plain)) if any(" left " in q or " right " in q for q in plain[i]["questions"]))
    base = plain[index]
    flips = 0
    for seed in range(40):
        torch.manual_seed(seed)
        s = mirrored[index]
        if torch.equal(s["image"], base["image"]):
            assert s["questions"] == base["questions"] and s["answers"] == base["answers"]
        else:
            flips += 1
            assert torch.equal(s["image"], base["image"].flip(-1))
            assert s["questions"] == [mirror_text(q) for q in base["questions"]] != base["questions"]
            assert [m["question"] for m in s["meta"]] == s["questions"]
        torch.manual_seed(seed)
        again = mirrored[index]  # the draw follows the seed the loader sets
        assert torch.equal(again["image"], s["image"]) and again["questions"] == s["questions"]
    assert 10 <= flips <= 30
    assert all(torch.equal(plain[index]["image"], base["image"]) for _ in range(5))



@pytest.mark.parametrize("name,args", [("attention", {"pairs": True, "pair_local": True, "pair_words": True}),
                                       ("lstm-fusion", {}), ("ibowimg", {})])
def test_export_to_onnx_with_questions_of_any_length(scenes, tmp_path, name, args):
    """Every model exports (the LSTM without packed sequences there) and answers as the eager model does, for a
    batch and question lengths other than the export's; `cvkit predict` refuses the two-input file by name."""
    import numpy as np
    import onnxruntime as ort

    from cvkit.checkpoint import load_model
    from cvkit.export import export

    arg_list = [x for k, v in args.items() for x in ("--model-arg", f"{k}={str(v).lower()}")]
    run_dir = tmp_path / "run"
    cvkit("train", "vqa", "--data", f"vqa2:{scenes}", "--model", name, *arg_list, "--epochs", "1", "--batch-size",
          "16", "--out", str(run_dir), check=True)
    out = tmp_path / "m.onnx"
    export(run_dir / "last.pt", "onnx", out)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image", "tokens"]
    _, model, _ = load_model(run_dir / "last.pt")
    gen = torch.Generator().manual_seed(3)
    images = torch.rand(3, 3, 64, 64, generator=gen)
    tokens = torch.randint(1, len(model.vocab), (3, 9), generator=gen)
    tokens[0, 2:], tokens[1, 6:] = 0, 0  # questions of 2, 6 and 9 words
    got = session.run(None, {"image": images.numpy(), "tokens": tokens.numpy()})[0]
    with torch.no_grad():
        ref = model(images, tokens)
    np.testing.assert_allclose(got, ref.numpy(), atol=1e-4, rtol=1e-4)
    line = f"{scenes}/val2014/{next((scenes / 'val2014').iterdir()).name}\tis there a circle?\n"
    result = cvkit("predict", "--weights", str(out), "-", input=line)
    assert result.returncode != 0 and f"{out}: this exported 'vqa' model takes several inputs" in result.stderr
