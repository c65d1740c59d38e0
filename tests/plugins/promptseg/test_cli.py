"""Through the CLI: data make, train (a few steps of a very small model), eval, predict with prompts, export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import cvkit

SMALL = ["--model-arg", "dim=32", "--model-arg", "width=8", "--img-size", "64"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("promptseg")
    data = root / "shapes"
    cvkit("data", "make", "shapes", "--task", "promptseg", "--out", str(data), "--size", "16", check=True)
    cvkit("train", "promptseg", "--data", f"coco:{data}", "--epochs", "1", "--batch-size", "8", *SMALL,
          "--out", str(root / "run"), check=True, timeout=900)
    return root, data


def test_train_and_eval(trained):
    root, data = trained
    summary = json.loads((root / "run" / "summary.json").read_text())
    assert summary["best"]["metric"] == "miou_1click"
    doc = json.loads(cvkit("eval", "--weights", str(root / "run" / "best.pt"), "--json", check=True).stdout)
    m = doc["metrics"]
    assert doc["primary"] == "miou_1click" and doc["task"] == "promptseg"
    assert all(0 <= m[k] <= 1 for k in ("miou_1click", "miou_2click", "miou_3click", "miou_box"))
    assert m["objects"] >= 1 and m["miou_1click"] == summary["final"]["val_miou_1click"]


def test_predict_with_prompts(trained, tmp_path):
    root, data = trained
    image = sorted((data / "val2017").glob("*.jpg"))[0]
    proc = cvkit("predict", "promptseg", "--weights", str(root / "run" / "best.pt"), str(image),
                 "--task-arg", "point=30,40", "--task-arg", "point=60,60,0", "--task-arg", "box=10,10,90,90",
                 "--task-arg", "multimask=1",
                 "--save-vis", str(tmp_path / "vis"), check=True)
    rec = json.loads(proc.stdout)
    assert rec["source"] == str(image) and rec["image_size"] == [128, 128]
    p = rec["prompts"][0]
    assert p["points"] == [[30, 40, 1], [60, 60, 0]] and p["box"] == [10, 10, 90, 90] and len(p["masks"]) == 3
    assert len(list((tmp_path / "vis").glob("*.png"))) == 1
    missing = cvkit("predict", "promptseg", "--weights", str(root / "run" / "best.pt"), str(image))
    assert missing.returncode == 2 and "needs prompts" in missing.stderr
    bad = cvkit("predict", "promptseg", "--weights", str(root / "run" / "best.pt"), str(image),
                "--task-arg", "point=3")
    assert bad.returncode == 2 and "--task-arg point=3: expected 2 or 3 comma-separated numbers" in bad.stderr


def test_export_with_prompts_as_inputs(trained, tmp_path):
    import onnxruntime as ort
    import torch

    from cvkit.checkpoint import load_model

    root, _ = trained
    out = tmp_path / "m.onnx"
    cvkit("export", "--weights", str(root / "run" / "best.pt"), "--format", "onnx", "--output", str(out), check=True)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image", "points", "labels", "mask_input", "has_mask"]
    _, model, _ = load_model(root / "run" / "best.pt")
    assert model.focus == 48 and model.low_res == 64  # the task's default: the focus window, full-resolution masks
    gen = torch.Generator().manual_seed(5)
    feed = (torch.randn(1, 3, 64, 64, generator=gen), torch.rand(5, 3, 2, generator=gen) * 64,
            torch.tensor([[1.0, 0, -1]] * 5), torch.zeros(5, 1, model.low_res, model.low_res), torch.zeros(5))
    got = session.run(None, {i.name: t.numpy() for i, t in zip(session.get_inputs(), feed, strict=True)})
    with torch.no_grad():
        ref = model(*feed)
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(g, r.numpy(), atol=1e-4, rtol=1e-4)
    image = next((root / "shapes" / "val2017").iterdir())
    result = cvkit("predict", "--weights", str(out), str(image), "--task-arg", "point=10,10")
    assert result.returncode != 0 and "takes several inputs (image, points, labels, mask_input, has_mask)" in \
        result.stderr and str(out) in result.stderr  # the file is for onnxruntime; predict runs the checkpoint


def test_bench_contact_sheet(trained, tmp_path):
    """The bench's pictures: one row per validation image, ground truth | 1 click | 3 clicks | box."""
    import cv2

    from tests.plugins.promptseg.test_bench import pictures

    root, data = trained
    sheet = pictures(root / "run" / "best.pt", f"coco:{data}", tmp_path / "sheet.png", count=2)
    image = cv2.imread(str(sheet))
    rows = image.shape[0] // 128  # the scenes are 128 px; as many rows as val images, at most 2
    assert 1 <= rows <= 2 and image.shape == (rows * 128, 4 * 128, 3)
    assert image[:, :128].std() > 0 and not np.array_equal(image[:, :128], image[:, 128:256])
