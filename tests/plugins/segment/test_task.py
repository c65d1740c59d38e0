"""The task's predict path, records, predictions files, drawing and plugin registration."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from cvkit.task import DatasetInfo, ModelConfig, PredictOptions
from cvkit_segment.palette import read_label_png

INFO = DatasetInfo("d", "voc", "voc:d", "val", ["background", "cat", "dog"], {"category_ids": [0, 17, 18]})


class LeftRight(nn.Module):
    """Class 1 on the left half of the input, class 2 on the right."""

    def forward(self, x):
        b, _, h, w = x.shape
        logits = torch.zeros(b, 3, h, w)
        logits[:, 1, :, : w // 2] = 1
        logits[:, 2, :, w // 2 :] = 1
        return logits


def test_predict_step_maps_to_original_pixels(task, tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((30, 50, 3), np.uint8))
    ds = task.predict_dataset([str(tmp_path / "a.png")], ModelConfig("unet", 16), INFO)
    batch = task.collate([ds[0]])
    assert batch.targets is None and batch.inputs.shape == (1, 3, 16, 16)
    [p] = task.predict_step(LeftRight(), batch)
    assert p["labels"].shape == (30, 50) and p["labels"].dtype == np.uint8
    assert (p["labels"][:, :25] == 1).all() and (p["labels"][:, 25:] == 2).all()


def test_record_png_and_round_trip(task, tmp_path):
    labels = np.zeros((6, 8), np.uint8)
    labels[1:4, 2:5] = 2
    labels[5, :] = 1
    masks = tmp_path / "masks"
    rec = task.record({"labels": labels, "source": "x/img_1.jpg"}, INFO, PredictOptions(save_masks=masks, stem="img_1"))
    rec2 = task.record({"labels": labels, "source": "y/img_1.jpg"}, INFO,
                       PredictOptions(save_masks=masks, stem="img_1_2"))  # the core makes repeated stems unique
    assert "mask_png" not in task.record({"labels": labels, "source": "z.jpg"}, INFO)  # no --save-masks: RLE only
    assert rec["mask_png"] == str(masks / "img_1.png") and rec2["mask_png"] == str(masks / "img_1_2.png")
    assert sorted(p.name for p in masks.iterdir()) == ["img_1.png", "img_1_2.png"]
    assert rec["size"] == [6, 8]
    assert [(c["label"], c["pixels"]) for c in rec["classes"]] == [("background", 31), ("cat", 8), ("dog", 9)]
    json.dumps(rec)
    np.testing.assert_array_equal(read_label_png(rec["mask_png"]), labels)
    np.testing.assert_array_equal(task.parse_record(rec, INFO)["labels"], labels)
    only_png = {"mask_png": rec["mask_png"]}
    np.testing.assert_array_equal(task.parse_record(only_png, INFO)["labels"], labels)
    assert task.parse_record({}, INFO)["labels"] is None
    with pytest.raises(ValueError, match="neither"):
        task.parse_record({"source": "a", "classes": [{"label": "cat"}]}, INFO)
    rows = task.csv_rows({"source": "s", **rec})
    assert rows[1] == {"source": "s", "label": "cat", "index": 1, "pixels": 8, "mask_png": rec["mask_png"]}
    coco = task.coco_results({"labels": labels}, INFO, 5)
    assert [(r["image_id"], r["category_id"]) for r in coco] == [(5, 17), (5, 18)]


def test_png_folder_predictions(task, tmp_path):
    from tests.plugins.segment.fixtures import save_palette_png

    save_palette_png(tmp_path / "p" / "2007_000032.png", np.ones((3, 4), np.uint8))
    [(name, pred)] = list(task.read_predictions_file(tmp_path / "p", INFO))
    assert name == "2007_000032" and pred["labels"].tolist() == [[1] * 4] * 3
    (tmp_path / "f.jsonl").write_text("{}\n")
    assert task.read_predictions_file(tmp_path / "f.jsonl", INFO) is None


def test_draw(task, tmp_path):
    img = np.zeros((6, 8, 3), np.uint8)
    labels = np.zeros((6, 8), np.uint8)
    labels[:3] = 1
    out = task.draw(img, {"labels": labels}, INFO)
    k = 43  # pictures under 256 px are drawn enlarged by ceil(256 / 6); a legend panel is added on the right
    assert out.shape[0] == 6 * k and out.shape[1] > 8 * k and not img.any()
    assert out[: 3 * k, : 8 * k].any() and not out[3 * k :, : 8 * k].any()
    assert not task.draw(img, {"labels": None}, INFO).any()
    from tests.plugins.segment.fixtures import save_palette_png

    labels[0, 0] = 255
    save_palette_png(tmp_path / "t.png", labels)
    drawn = task.draw_target(img, {"kind": "png", "file": str(tmp_path / "t.png")}, INFO)
    assert drawn[0, 0].tolist() != drawn[0, k].tolist()  # void has its own colour
