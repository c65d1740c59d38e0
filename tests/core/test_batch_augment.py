"""The batch augmentation of box tasks against torchvision's per-sample transforms on the same parameters."""

from __future__ import annotations

import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from cvkit.task import Batch
from cvkit.vision import batch_augment as ba


def _images(n: int = 4, size: int = 32) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(1))


def test_colour_parts_match_torchvision() -> None:
    x = _images()
    f = torch.tensor([0.6, 0.9, 1.2, 1.45])
    on = torch.tensor([True, True, True, False])
    zeros = torch.zeros_like(x[:, :1])
    bright = ba._blend(x, zeros, f, on)
    contrast = ba._blend(x, ba._gray(x).mean((2, 3), keepdim=True), f, on)
    saturation = ba._blend(x, ba._gray(x), f, on)
    for i in range(3):
        assert torch.allclose(bright[i], TF.adjust_brightness(x[i], float(f[i])), atol=1e-6)
        assert torch.allclose(contrast[i], TF.adjust_contrast(x[i], float(f[i])), atol=1e-6)
        assert torch.allclose(saturation[i], TF.adjust_saturation(x[i], float(f[i])), atol=1e-6)
    for out in (bright, contrast, saturation):
        assert torch.equal(out[3], x[3])  # off: untouched


def test_hue_matches_torchvision() -> None:
    x = _images()
    x[0, :, :4, :4] = 0.5  # grey pixels (no hue)
    shift = torch.tensor([0.05, -0.05, 0.02, 0.3])
    on = torch.tensor([True, True, False, True])
    out = ba._hue(x, shift, on)
    for i in range(4):
        want = TF.adjust_hue(x[i], float(shift[i])) if on[i] else x[i]
        assert torch.allclose(out[i], want, atol=1e-5), i


@pytest.mark.parametrize("hflip,vflip,tx,ty,scale", [(False, False, 0, 0, 1.0), (True, False, 3, -2, 0.8),
                                                      (False, True, -3, 1, 1.2), (True, True, 2, 3, 0.77)])
def test_geometry_matches_torchvision_affine(hflip: bool, vflip: bool, tx: int, ty: int, scale: float) -> None:
    size = 32
    img = torch.zeros(1, 3, size, size)
    img[:, :, 6:14, 9:25] = 1.0
    img[:, 1, 20:30, 2:8] = 0.5
    boxes = torch.tensor([[9.0, 6.0, 25.0, 14.0], [2.0, 20.0, 8.0, 30.0], [0.0, 0.0, 1.5, 1.5]])
    target = [{"boxes": boxes, "labels": torch.tensor([1, 2, 3])}]
    out, (got,) = ba.geometry(img, target, torch.tensor([hflip]), torch.tensor([vflip]), torch.tensor([float(tx)]),
                              torch.tensor([float(ty)]), torch.tensor([scale]))
    ref = tv_tensors.Image(img[0])
    bb = tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=(size, size))
    if hflip:
        ref, bb = TF.horizontal_flip(ref), TF.horizontal_flip(bb)
    if vflip:
        ref, bb = TF.vertical_flip(ref), TF.vertical_flip(bb)
    ref = TF.affine(ref, angle=0.0, translate=[tx, ty], scale=scale, shear=[0.0, 0.0],
                    interpolation=InterpolationMode.NEAREST)
    bb = TF.clamp_bounding_boxes(TF.affine(bb, angle=0.0, translate=[tx, ty], scale=scale, shear=[0.0, 0.0]))
    wh = bb[:, 2:] - bb[:, :2]
    keep = (wh >= 2).all(1)
    # nearest-neighbour ties at exact half pixels may round the other way: all but a sliver of pixels agree
    assert (out[0] == ref).float().mean() > 0.97
    assert torch.allclose(got["boxes"], bb[keep].as_subclass(torch.Tensor), atol=1e-4)
    assert got["labels"].tolist() == torch.tensor([1, 2, 3])[keep].tolist()
    assert 3 not in got["labels"].tolist()  # the 1.5-px box is dropped


def test_boxes_follow_the_content() -> None:
    """Random geometry on white rectangles: each box still frames its rectangle (within a pixel)."""
    size, n = 64, 8
    img = torch.zeros(n, 3, size, size)
    boxes = []
    for i in range(n):
        x0, y0 = 12 + i, 16 + i
        img[i, :, y0 : y0 + 20, x0 : x0 + 24] = 1.0
        boxes.append({"boxes": torch.tensor([[float(x0), float(y0), x0 + 24.0, y0 + 20.0]]),
                      "labels": torch.tensor([1])})
    g = ba.seeded(7)
    hflip, vflip = ba._chance(n, 0.5, g), ba._chance(n, 0.5, g)
    tx, ty = torch.round(ba._uniform(n, -6, 6, g)), torch.round(ba._uniform(n, -6, 6, g))
    scale = ba._uniform(n, 0.75, 1.25, g)
    out, got = ba.geometry(img, boxes, hflip, vflip, tx, ty, scale)
    for i in range(n):
        ys, xs = torch.nonzero(out[i, 0] > 0.5, as_tuple=True)
        seen = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32)
        assert torch.allclose(got[i]["boxes"][0], seen, atol=1.0), (i, got[i]["boxes"], seen)


def test_apply_is_seeded_and_keeps_unmarked_batches() -> None:
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    images = (_images(6, 32) - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    targets = [{"boxes": torch.tensor([[4.0, 4.0, 20.0, 24.0]]), "labels": torch.tensor([0])} for _ in range(6)]
    meta = [{"augment": {"vflip": True, "mean": mean, "std": std}} for _ in range(6)]
    batch = Batch(images, targets, list(range(6)), meta)
    a, b, c = ba.apply(batch, 11), ba.apply(batch, 11), ba.apply(batch, 12)
    assert torch.equal(a.inputs, b.inputs) and not torch.equal(a.inputs, c.inputs)
    assert not torch.equal(a.inputs, images)
    assert torch.equal(images, batch.inputs)  # the input batch is not modified
    assert all(torch.equal(x["boxes"], y["boxes"]) for x, y in zip(a.targets, b.targets, strict=True))
    plain = Batch(images, targets, list(range(6)), [{} for _ in range(6)])
    assert ba.apply(plain, 11) is plain


def test_photometric_stays_in_range_and_varies() -> None:
    x = _images(16, 16)
    out = ba.photometric(x, ba.seeded(3))
    assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    changed = [(not torch.equal(out[i], x[i])) for i in range(16)]
    assert 8 <= sum(changed) <= 16  # each sample draws five parts with p=0.5: nearly all change


@pytest.mark.parametrize("hflip,vflip,tx,ty,scale", [(True, False, 3, -2, 0.8), (False, True, -3, 1, 1.2)])
def test_label_maps_match_torchvision_affine(hflip: bool, vflip: bool, tx: int, ty: int, scale: float) -> None:
    size = 32
    labels = torch.zeros(1, size, size, dtype=torch.int64)
    labels[0, 6:14, 9:25] = 1
    labels[0, 20:30, 2:8] = 2
    img = torch.rand(1, 3, size, size)
    _, got = ba.geometry(img, labels, torch.tensor([hflip]), torch.tensor([vflip]), torch.tensor([float(tx)]),
                         torch.tensor([float(ty)]), torch.tensor([scale]), fill=255)
    ref = tv_tensors.Mask(labels[0])
    if hflip:
        ref = TF.horizontal_flip(ref)
    if vflip:
        ref = TF.vertical_flip(ref)
    ref = TF.affine(ref, angle=0.0, translate=[tx, ty], scale=scale, shear=[0.0, 0.0], fill=255)
    assert got.dtype == torch.int64 and got.shape == (1, size, size)
    assert set(got.unique().tolist()) <= {0, 1, 2, 255}
    assert (255 in got.unique().tolist()) == (scale < 1)  # a shrunk map leaves void around it
    assert (got[0] == ref).float().mean() > 0.97


def test_geometry_is_torchvision_pixel_for_pixel_at_128px() -> None:
    size = 128
    img = torch.zeros(1, 3, size, size)
    img[:, 0, 30:70, 40:100] = 1.0
    img[:, 2, 80:120, 10:50] = 0.5
    g = torch.Generator().manual_seed(0)
    empty = [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}]
    for k in range(12):
        scale = float(ba._uniform(1, 0.75, 1.25, g))
        tx, ty = (int(v) for v in torch.randint(-12, 13, (2,), generator=g))
        hflip, vflip = bool(k % 2), bool(k % 3 == 0)
        out, _ = ba.geometry(img, empty, torch.tensor([hflip]), torch.tensor([vflip]), torch.tensor([float(tx)]),
                             torch.tensor([float(ty)]), torch.tensor([scale]))
        ref = tv_tensors.Image(img[0])
        ref = TF.horizontal_flip(ref) if hflip else ref
        ref = TF.vertical_flip(ref) if vflip else ref
        ref = TF.affine(ref, angle=0.0, translate=[tx, ty], scale=scale, shear=[0.0, 0.0],
                        interpolation=InterpolationMode.NEAREST)
        assert torch.equal(out[0], ref.as_subclass(torch.Tensor)), (k, scale, tx, ty)
