"""ResNet-18 trains and evaluates on the official ILSVRC2012 devkit layout with the right class mapping."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import cvkit
from tests.plugins.classify.fixtures import SYNSETS, make_imagenet_devkit, val_labels


def test_resnet18_on_devkit_layout(tmp_path: Path) -> None:
    root = make_imagenet_devkit(tmp_path / "ilsvrc", n_classes=4, per_class=6, size=(40, 36))
    out = tmp_path / "run"
    cvkit("train", "classify", "--model", "resnet18", "--img-size", "32", "--data", f"imagenet:{root}",
          "--epochs", "6", "--batch-size", "8", "--lr", "0.003", "--model-arg", "augment=light", "--out", str(out),
          check=True)
    doc = json.loads(cvkit("eval", "--weights", str(out / "best.pt"), "--json", check=True).stdout)
    assert doc["num_samples"] == 24
    # the images' colours encode their class: a correct ID -> WNID -> index mapping makes them learnable
    assert doc["metrics"]["top1"] >= 0.9, doc
    preds = [json.loads(line) for line in cvkit("predict", "--weights", str(out / "best.pt"), str(root / "val"),
                                                check=True).stdout.splitlines()]
    expected = [SYNSETS[c][1].split(",")[0] for c in val_labels(4, 6)]
    hits = sum(p["topk"][0]["label"] == e for p, e in zip(preds, expected, strict=True))
    assert hits >= 0.9 * len(expected)
