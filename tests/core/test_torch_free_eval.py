"""eval --predictions without torch: scoring a file needs the annotations, the task's scoring side and numpy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cvkit.data import load_split
from cvkit.engine.score import evaluate_predictions
from cvkit.plugin import discover, get_scoring, get_task
from tests.conftest import cvkit

NO_TORCH = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision"):
            raise ImportError(f"{name} is blocked in this test")
        return None
sys.meta_path.insert(0, Refuse())
from cvkit.cli import main
sys.argv = ["cvkit", *sys.argv[1:]]
main()
"""


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


def test_detect_declares_a_torch_free_scoring_side():
    assert discover()["detect"].spec.scoring
    code = "import sys; from cvkit.plugin import get_scoring; get_scoring('detect').formats(); " \
           "print(any(m.split('.')[0] in ('torch', 'torchvision') for m in sys.modules))"
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


def test_the_scoring_side_and_the_task_agree_on_every_member():
    scoring, task = get_scoring("detect"), get_task("detect")
    assert set(scoring.formats()) == set(task.formats())
    assert set(scoring.builtins()) == set(task.builtins())
    assert scoring.metric_names() == task.metric_names()
