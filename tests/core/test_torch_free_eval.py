"""eval --predictions without torch: scoring a file needs the annotations, the task's scoring side and numpy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cvkit.data import load_split
from cvkit.engine.score import evaluate_predictions
from cvkit.plugin import discover, get_scoring, get_task
from tests.conftest import NO_TORCH, cvkit


@pytest.fixture(scope="module")
def shapes_coco(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes")
    cvkit("data", "make", "shapes", "--out", str(root / "D"), "--format", "coco", check=True)
    gt = json.loads((root / "D" / "annotations" / "instances_val2017.json").read_text())
    # every ground-truth box, some shifted by a few pixels and with varied scores, plus a false positive per image
    results = []
    for k, a in enumerate(gt["annotations"]):
        x, y, w, h = a["bbox"]
        shift = (k % 5) * 1.5
        results.append({"image_id": a["image_id"], "category_id": a["category_id"],
                        "bbox": [x + shift, y, w, h + shift / 2], "score": round(0.5 + (k % 7) / 14, 3)})
    for im in gt["images"]:
        results.append({"image_id": im["id"], "category_id": gt["categories"][0]["id"], "bbox": [1, 2, 10, 10],
                        "score": 0.55})
    (root / "res.json").write_text(json.dumps(results))
    return root


TORCH_FREE = ("detect", "instance", "pose", "segment", "classify", "video", "multilabel", "caption", "vqa", "dense",
              "promptseg")  # promptseg: its records and torch-blocked equality in tests/plugins/promptseg


@pytest.mark.parametrize("name", TORCH_FREE)
def test_task_declares_a_torch_free_scoring_side(name):
    assert discover()[name].spec.scoring
    code = f"import sys; from cvkit.plugin import get_scoring; s = get_scoring({name!r}); s.formats(); " \
           "s.builtins(); print(any(m.split('.')[0] in ('torch', 'torchvision') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_eval_predictions_runs_with_torch_blocked_and_equals_the_task_path(shapes_coco):
    data = f"coco:{shapes_coco / 'D'}"
    proc = subprocess.run([sys.executable, "-c", NO_TORCH, "eval", "detect", "--data", data, "--split", "val",
                           "--predictions", str(shapes_coco / "res.json"), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    task = get_task("detect")
    raw = load_split(task, data, "val")
    ref = evaluate_predictions(task, raw, shapes_coco / "res.json")
    assert doc["metrics"] == ref.metrics  # the same numbers to the last digit
    assert 0.2 < doc["metrics"]["AP"] < 1.0 and doc["primary"] == ref.primary


@pytest.mark.parametrize("name", TORCH_FREE)
def test_the_scoring_side_and_the_task_agree_on_every_member(name):
    scoring, task = get_scoring(name), get_task(name)
    assert type(scoring).__name__ != type(task).__name__ and isinstance(task, type(scoring))
    assert set(scoring.formats()) == set(task.formats())
    assert set(scoring.builtins()) == set(task.builtins())
    assert scoring.metric_names() == task.metric_names()


# ------------------------------------------------------------------------------------------------ every other task
# Each case writes a tiny embedded dataset and a predictions file derived from its ground truth with perturbations
# (missed, shifted, mislabelled and invented entries), so that the metrics are neither 0 nor 1.

def _instance(root, scoring):
    from cvkit.vision.masks import encode_rle, segmentation_mask

    spec = scoring.builtins()["shapes"].write(root / "D", "coco", 20, 1)
    gt = json.loads((root / "D" / "annotations" / "instances_val2017.json").read_text())
    sizes = {im["id"]: (im["height"], im["width"]) for im in gt["images"]}
    cats = [c["id"] for c in gt["categories"]]
    results = []
    for k, a in enumerate(gt["annotations"]):
        if k % 5 == 4:
            continue  # missed
        mask = segmentation_mask(a["segmentation"], *sizes[a["image_id"]])
        if k % 3 == 1:
            mask = np.roll(mask, 2 + k % 4, axis=1)  # a shifted mask
        cat = cats[(cats.index(a["category_id"]) + 1) % len(cats)] if k % 7 == 6 else a["category_id"]
        results.append({"image_id": a["image_id"], "category_id": cat, "segmentation": encode_rle(mask),
                        "score": round(0.3 + (k % 9) / 12, 3)})
    for im in gt["images"]:
        box = np.zeros((im["height"], im["width"]), bool)
        box[2:12, 3:15] = True
        results.append({"image_id": im["id"], "category_id": cats[0], "segmentation": encode_rle(box), "score": 0.6})
    (root / "res.json").write_text(json.dumps(results))
    return spec, root / "res.json"


def _pose(root, scoring):
    spec = scoring.builtins()["stickmen"].write(root / "D", "mpii", 40, 0)
    raw = load_split(scoring, spec, "val")
    lines = []
    for i, (source, target) in enumerate(zip(raw.sources, raw.targets, strict=True)):
        people = []
        for p, joints in enumerate(np.asarray(target["keypoints"], np.float64)):
            kp = joints[:, :2] + np.array([(i + p) % 3 * 1.5, -((i + 2 * p) % 4)])
            kp[(i + p) % 16] += 9.0  # one joint far off
            score = np.linspace(0.9, 0.4, len(kp))[:, None]
            people.append({"keypoints": np.hstack([kp, score]).round(3).tolist(), "score": 0.8})
        lines.append(json.dumps({"source": source, "people": people}))
    (root / "preds.jsonl").write_text("\n".join(lines) + "\n")
    return spec, root / "preds.jsonl"


def _segment(root, scoring):
    from cvkit.vision.masks import encode_label_png
    from cvkit_segment.palette import read_label_png

    spec = scoring.builtins()["shapes"].write(root / "D", "voc-seg", 30, 0)
    raw = load_split(scoring, spec, "val")
    (root / "masks").mkdir()
    for i, (source, target) in enumerate(zip(raw.sources, raw.targets, strict=True)):
        labels = read_label_png(target["file"], raw.info.extra.get("colours"))
        labels = np.roll(labels, 1 + i % 3, axis=0)  # boundaries off by a few rows
        labels[: 4 + i, : 6] = (i + 1) % len(raw.info.classes)  # a wrongly labelled corner
        (root / "masks" / f"{Path(source).stem}.png").write_bytes(encode_label_png(labels))
    return spec, root / "masks"


def _topk(i, truth, k, classes):
    order = [truth, *[c for c in range(k) if c != truth]]
    if i % 4 == 3:
        order[0], order[1] = order[1], order[0]  # the true class second
    if i % 9 == 8:
        order = order[2:] + order[:2]  # the true class far down
    scores = [round(0.9 / (r + 1), 6) for r in range(k)]
    return [{"label": classes[c], "index": c, "score": s} for c, s in zip(order, scores, strict=False)], order, scores


def _classify(root, scoring):
    spec = scoring.builtins()["digits"].write(root / "D", "imagefolder", None, 0)
    raw = load_split(scoring, spec, "val")
    k = len(raw.info.classes)
    lines = [json.dumps({"source": s, "topk": _topk(i, t, k, raw.info.classes)[0][:5]})
             for i, (s, t) in enumerate(zip(raw.sources, raw.targets, strict=True)) if i % 11]
    (root / "preds.jsonl").write_text("\n".join(lines) + "\n")
    return spec, root / "preds.jsonl"


def _video(root, scoring):
    spec = scoring.builtins()["motion"].write(root / "D", "sports1m", 40, 0)
    raw = load_split(scoring, spec, "val")
    k = len(raw.info.classes)
    lines = []
    for i, (s, t) in enumerate(zip(raw.sources, raw.targets, strict=True)):
        topk, order, scores = _topk(i, t[0], k, raw.info.classes)
        per_class = [0.0] * k
        for c, v in zip(order, scores, strict=True):
            per_class[c] = v
        clips = [{"start": j * 4, "topk": topk[:5] if j != i % 3 else topk[1:6]} for j in range(3)]
        lines.append(json.dumps({"source": s, "topk": topk[:5], "scores": per_class, "clips": clips}))
    (root / "preds.jsonl").write_text("\n".join(lines) + "\n")
    return spec, root / "preds.jsonl"


def _multilabel(root, scoring):
    spec = scoring.builtins()["shapes"].write(root / "D", "coco", 60, 0)
    raw = load_split(scoring, spec, "val")
    lines = []
    for i, (s, t) in enumerate(zip(raw.sources, raw.targets, strict=True)):
        present = [(v > 0) != ((i + c) % 5 == 0) for c, v in enumerate(t)]  # some labels flipped
        scores = {name: round(0.55 + 0.04 * ((i + c) % 9) if p else 0.05 + 0.05 * ((i * c) % 9), 6)
                  for c, (name, p) in enumerate(zip(raw.info.classes, present, strict=True))}
        labels = [{"label": name, "index": c} for c, name in enumerate(raw.info.classes) if scores[name] >= 0.5]
        lines.append(json.dumps({"source": s, "scores": scores, "labels": labels}))
    (root / "preds.jsonl").write_text("\n".join(lines) + "\n")
    return spec, root / "preds.jsonl"


def _caption(root, scoring):
    spec = scoring.builtins()["scenes"].write(root / "D", "coco", 40, 0)
    raw = load_split(scoring, spec, "val")
    ids = raw.info.extra["image_ids"]
    results = []
    for i, (s, refs) in enumerate(zip(raw.sources, raw.targets, strict=True)):
        caption = refs[i % len(refs)]
        if i % 3 == 1:
            caption = raw.targets[(i + 1) % len(raw.targets)][0]  # another image's caption
        elif i % 3 == 2:
            caption = " ".join(caption.split()[:-1] + ["square"])  # the last word wrong
        results.append({"image_id": ids[Path(s).name], "caption": caption})
    (root / "res.json").write_text(json.dumps(results))
    return spec, root / "res.json"


def _vqa(root, scoring):
    spec = scoring.builtins()["scenes"].write(root / "D", "vqa2", 30, 0)
    raw = load_split(scoring, spec, "val")
    results = [{"question_id": t["question_id"], "answer": "no" if i % 3 == 2 else t["answers"][i % 10]["answer"]}
               for i, t in enumerate(raw.targets) if i % 7 != 6]
    (root / "res.json").write_text(json.dumps(results))
    return spec, root / "res.json"


def _dense(root, scoring):
    from cvkit_dense.datasets.depthio import encode_normals_png, load_target, write_depth

    spec = scoring.builtins()["rooms"].write(root / "D", "depthfolder", 20, 0)
    raw = load_split(scoring, spec, "val")
    (root / "maps").mkdir()
    lines = []
    for i, (s, t) in enumerate(zip(raw.sources, raw.targets, strict=True)):
        depth, normals = load_target(t)
        depth = depth * (1.05 + 0.1 * (i % 2))  # a scale error
        depth[: 10 + 5 * i] = depth[: 10 + 5 * i] * 0.7
        write_depth(root / "maps" / f"{i}.png", depth, 1000.0)
        rec = {"source": s, "depth_png": str(root / "maps" / f"{i}.png")}
        if normals is not None:
            (root / "maps" / f"{i}_n.png").write_bytes(encode_normals_png(np.roll(normals, 3, axis=1)))
            rec["normals_png"] = str(root / "maps" / f"{i}_n.png")
        lines.append(json.dumps(rec))
    (root / "preds.jsonl").write_text("\n".join(lines) + "\n")
    return spec, root / "preds.jsonl"


CASES = {"instance": _instance, "pose": _pose, "segment": _segment, "classify": _classify, "video": _video,
         "multilabel": _multilabel, "caption": _caption, "vqa": _vqa, "dense": _dense}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_task_scores_predictions_with_torch_blocked_and_equals_the_task_path(name, tmp_path):
    spec, preds = CASES[name](tmp_path, get_scoring(name))
    proc = subprocess.run([sys.executable, "-c", NO_TORCH, "eval", name, "--data", spec, "--split", "val",
                           "--predictions", str(preds), "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    task = get_task(name)
    ref = evaluate_predictions(task, load_split(task, spec, "val"), preds)
    assert doc["metrics"] == ref.metrics  # the same numbers to the last digit
    assert doc["primary"] == ref.primary and doc["num_samples"] == ref.num_samples
    perfect = 10.0 if name == "caption" else 0.999  # CIDEr exceeds 1
    assert 0.05 < doc["metrics"][doc["primary"]] < perfect, doc["metrics"]  # perturbed: neither perfect nor empty
