"""Box training transforms resize first: the dataset keeps the resized image in memory and every random op runs
on S x S pixels. Images already S x S give exactly the samples of the former order (resize after the flips)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from cvkit.contract import DatasetInfo
from cvkit.errors import UsageError
from cvkit.task import ModelConfig
from cvkit.vision.dataset import ImageAnnotationDataset
from cvkit.vision.transforms import box_eval_transform, box_train_transform

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class Boxes(ImageAnnotationDataset):
    def annotations(self, index, raw, size):
        return {"boxes": tv_tensors.BoundingBoxes(torch.tensor(raw, dtype=torch.float32), format="XYXY",
                                                  canvas_size=size), "labels": torch.zeros(len(raw), dtype=torch.int64)}

    def finish(self, transformed, raw, index):
        return transformed["boxes"].as_subclass(torch.Tensor)


def _images(tmp_path: Path) -> tuple[list[str], list[list[list[float]]]]:
    rng = np.random.default_rng(0)
    paths = []
    for name, (h, w) in (("same.png", (64, 64)), ("large.png", (200, 300))):
        cv2.imwrite(str(tmp_path / name), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        paths.append(str(tmp_path / name))
    return paths, [[[8.0, 8.0, 40.0, 30.0]], [[30.0, 20.0, 250.0, 180.0]]]


def _dataset(paths, boxes) -> Boxes:
    info = DatasetInfo("t", "test", "test:", "train", ["a"])
    return Boxes(info, paths, boxes, ModelConfig("m", 64, {"vflip": True}), True,
                 train_transform=box_train_transform, eval_transform=box_eval_transform)


def test_images_of_the_input_size_give_the_former_order_samples(tmp_path):
    paths, boxes = _images(tmp_path)
    ds = _dataset(paths, boxes)
    former = v2.Compose([v2.RandomPhotometricDistort(p=0.5), v2.RandomHorizontalFlip(), v2.RandomVerticalFlip(),
                         v2.Resize((64, 64), antialias=True),
                         v2.RandomAffine(degrees=0.0, translate=(0.1, 0.1), scale=(0.75, 1.25)),
                         v2.ClampBoundingBoxes(), v2.SanitizeBoundingBoxes(min_size=2.0),
                         v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(MEAN), list(STD))])
    for seed in range(6):
        torch.manual_seed(seed)
        sample = ds[0]
        img, ann = ds.decoded(0)
        torch.manual_seed(seed)
        image, out = former(tv_tensors.Image(img), ann)
        assert torch.equal(sample["image"], image.as_subclass(torch.Tensor))
        assert torch.equal(sample["target"], out["boxes"].as_subclass(torch.Tensor))


def test_larger_images_are_kept_resized_with_their_original_size(tmp_path):
    paths, boxes = _images(tmp_path)
    ds = _dataset(paths, boxes)
    torch.manual_seed(0)
    sample = ds[1]
    kept_image, kept_ann, orig = ds.cache.get(1, lambda: None)
    assert tuple(kept_image.shape) == (3, 64, 64) and orig == (200, 300)  # decoded once, kept at S x S
    assert torch.allclose(kept_ann["boxes"].as_subclass(torch.Tensor),
                          torch.tensor([[30 * 64 / 300, 20 * 64 / 200, 250 * 64 / 300, 180 * 64 / 200]]))
    assert sample["meta"]["orig_size"] == (200, 300) and tuple(sample["image"].shape) == (3, 64, 64)
    assert (sample["target"] >= 0).all() and (sample["target"] <= 64).all()


def test_a_batch_transform_leaves_augmentation_to_the_step(tmp_path):
    """With a batch transform the sample is only resized and normalised (the same every time) and its meta asks
    the step for the rest; ``augment=sample`` keeps the per-sample pipeline; an unknown mode is refused."""
    paths, boxes = _images(tmp_path)
    info = DatasetInfo("t", "test", "test:", "train", ["a"])

    def make(args):
        return Boxes(info, paths, boxes, ModelConfig("m", 64, args), True, train_transform=box_train_transform,
                     eval_transform=box_eval_transform, augment_in_step=True)

    ds = make({"vflip": True})
    torch.manual_seed(0)
    a = ds[1]
    torch.manual_seed(1)
    b = ds[1]
    assert torch.equal(a["image"], b["image"]) and torch.equal(a["target"], b["target"])
    assert a["meta"]["augment"] == {"vflip": True, "mean": tuple(MEAN), "std": tuple(STD), "fill": 0}
    assert torch.allclose(a["target"], torch.tensor([[30 * 64 / 300, 20 * 64 / 200, 250 * 64 / 300, 180 * 64 / 200]]))
    per_sample = make({"vflip": True, "augment": "sample"})
    assert "augment" not in per_sample[1]["meta"]
    assert "augment" not in make({"augment": "none"})[1]["meta"]
    with pytest.raises(UsageError, match="augment='heavy'"):
        make({"augment": "heavy"})
