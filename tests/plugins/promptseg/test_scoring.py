"""eval --predictions without torch: simulated-click records scored through the torch-free scoring side equal the
task path to the last digit; the scoring side declares what the task declares."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from cvkit.data import load_split
from cvkit.engine.score import evaluate_predictions
from cvkit.plugin import discover, get_scoring, get_task
from cvkit.vision.masks import encode_rle
from cvkit_promptseg.datasets.target import object_masks
from tests.conftest import NO_TORCH


def test_the_scoring_side_imports_no_torch_and_agrees_with_the_task():
    assert discover()["promptseg"].spec.scoring
    code = "import sys; from cvkit.plugin import get_scoring; s = get_scoring('promptseg'); s.formats(); " \
           "s.builtins(); s.metric_names(); print(any(m.split('.')[0] in ('torch', 'torchvision') "\
           "for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    scoring, task = get_scoring("promptseg"), get_task("promptseg")
    assert isinstance(task, type(scoring)) and type(task) is not type(scoring)
    assert set(scoring.formats()) == set(task.formats()) and set(scoring.builtins()) == set(task.builtins())
    assert scoring.metric_names() == task.metric_names() == []  # one metric family: no --metric choices


def _records(raw) -> list[dict]:
    """Per image the ground-truth masks, perturbed: shifted by a click-dependent amount, a missing object, a box
    mask cut in half."""
    lines = []
    for i, (source, target) in enumerate(zip(raw.sources, raw.targets, strict=True)):
        gts, _ = object_masks(target)
        objects = []
        for k, gt in enumerate(gts):
            masks = [encode_rle(np.roll(gt, (3 - c) * (1 + (i + k) % 3), axis=1)) for c in range(3)]
            box = gt.copy()
            box[: int(np.flatnonzero(gt.any(1)).mean()) if gt.any() else 0] = False
            objects.append({"clicks": [], "masks": masks, "box_mask": encode_rle(box)})
        if i % 4 == 3 and objects:
            objects.pop()  # the last object missing: it scores 0
        lines.append({"source": source, "objects": objects})
    return lines


def test_eval_predictions_runs_with_torch_blocked_and_equals_the_task_path(tmp_path):
    spec = get_scoring("promptseg").builtins()["shapes"].write(tmp_path / "D", "coco", 80, 0)
    task = get_task("promptseg")
    raw = load_split(task, spec, "val")
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps(r) + "\n" for r in _records(raw)))
    proc = subprocess.run([sys.executable, "-c", NO_TORCH, "eval", "promptseg", "--data", spec, "--split", "val",
                           "--predictions", str(preds), "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    ref = evaluate_predictions(task, raw, preds)
    assert doc["metrics"] == ref.metrics and doc["primary"] == ref.primary == "miou_1click"
    m = doc["metrics"]
    assert m["objects"] == sum(len(object_masks(t)[0]) for t in raw.targets)
    assert 0.05 < m["miou_1click"] < m["miou_2click"] < m["miou_3click"] < 0.999  # smaller shifts, higher IoU
    assert 0.05 < m["miou_box"] < 0.8
