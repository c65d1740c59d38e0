"""Prompts reach the model in the right frame, and masks come back in the right frame: an oracle model that paints
exactly what its prompts say (a box's inside, discs around foreground clicks, holes at background clicks) must be
reproduced by the click simulation, the box evaluation, prediction and training's correction clicks, on an image
that is resized and padded (scale 0.8, not square), so that (x, y) / (row, col) swaps, corner labels, scales,
paddings or error regions that are wrong all show."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cvkit_promptseg import predictor
from cvkit_promptseg import prompts as P
from cvkit_promptseg.datasets.dataset import resize_masks, resized_size
from cvkit_promptseg.interactive import simulate, train_rounds
from cvkit_promptseg.metric import mask_iou

RADIUS = 6.0  # px of the model input


class Oracle(torch.nn.Module):
    """The promptseg model interface; logits are signed distances (input pixels) to what the prompt describes,
    sampled at the low-resolution pixel centres, so that thresholding the upsampled logits recovers the shape."""

    def __init__(self, img_size: int = 128) -> None:
        super().__init__()
        self.img_size, self.low_res = img_size, img_size // 4
        self.calls: list[tuple[np.ndarray, np.ndarray, bool]] = []

    def embed(self, images: torch.Tensor) -> tuple[torch.Tensor]:
        return (images,)

    @staticmethod
    def select(embedding: tuple[torch.Tensor, ...], index: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(e[index] for e in embedding)

    def field(self, coords: np.ndarray, labels: np.ndarray) -> np.ndarray:
        c = (np.arange(self.low_res) + 0.5) * self.img_size / self.low_res  # low-res pixel centres, input coords
        u, v = np.meshgrid(c, c, indexing="xy")  # u: x (columns), v: y (rows)
        f = np.full(u.shape, -1e3)
        corners = {int(lab): xy for xy, lab in zip(coords, labels, strict=True) if lab in (P.BOX_TL, P.BOX_BR)}
        if corners:
            (x1, y1), (x2, y2) = corners[P.BOX_TL], corners[P.BOX_BR]
            f = np.minimum.reduce([u - x1, x2 - u, v - y1, y2 - v])
        for (x, y), lab in zip(coords, labels, strict=True):
            d = RADIUS - np.hypot(u - (x + 0.5), v - (y + 0.5))  # the point is a pixel index: its centre
            f = np.maximum(f, d) if lab == P.FOREGROUND else np.minimum(f, -d) if lab == P.BACKGROUND else f
        return f

    def decode(self, embedding, points, labels, mask_input=None, has_mask=None):
        self.calls.append((points.numpy().copy(), labels.numpy().copy(), mask_input is not None))
        f = np.stack([self.field(c, lab) for c, lab in zip(points.numpy(), labels.numpy(), strict=True)])
        logits = torch.from_numpy(f).float()[:, None].repeat(1, 4, 1, 1)
        return logits, torch.tensor([[0.5, 0.9, 0.8, 0.7]]).repeat(len(f), 1)


H, W, S = 96, 160, 128  # original size, model input: scale 0.8, input 77 x 128, padded to 128 x 128
SX, SY = 128 / 160, 77 / 96  # SAM's apply_coords: x * new_w / old_w, y * new_h / old_h


def scene() -> tuple[np.ndarray, dict]:
    """Two objects in original pixels: a wide rectangle and a triangle, far from the image centre line."""
    rect = np.zeros((H, W), bool)
    rect[10:40, 90:150] = True
    yy, xx = np.mgrid[:H, :W]
    tri = (xx >= 20) & (yy <= 85) & (yy - 30 >= (xx - 20))  # right triangle, legs 55 px
    masks = np.stack([rect, tri])
    nh, nw = resized_size(H, W, S)
    target = {"masks": resize_masks(masks, (nh, nw), S), "orig_masks": masks, "ignore": None}
    return masks, {"target": target, "meta": {"source": "x.jpg", "orig_size": (H, W), "input_size": (nh, nw)}}


def test_box_prompts_come_back_as_the_box_in_original_pixels():
    masks, s = scene()
    model = Oracle()
    (out,) = simulate(model, torch.zeros(1, 3, S, S), [s["target"]], [s["meta"]], 3)
    rect = out["objects"][0]
    assert rect["box"] == [90.0, 10.0, 150.0, 40.0]  # the tight box, x first, pixel edges
    from cvkit.vision.masks import decode_rle

    assert mask_iou(decode_rle(rect["box_mask"]), masks[0]) > 0.97  # a rectangle is its own box
    tri = out["objects"][1]
    box = np.zeros((H, W), bool)
    box[30:86, 20:76] = True
    assert tri["box"] == [20.0, 30.0, 76.0, 86.0] and mask_iou(decode_rle(tri["box_mask"]), box) > 0.97
    box_calls = [c for c in model.calls if (c[1] >= P.BOX_TL).any()]
    (coords, labels, has_mask), = box_calls
    assert not has_mask and labels.tolist() == [[P.BOX_TL, P.BOX_BR], [P.BOX_TL, P.BOX_BR]]
    np.testing.assert_allclose(coords[0], [[90 * SX, 10 * SY], [150 * SX, 40 * SY]], atol=1e-5)  # (x, y)


def test_clicks_land_in_the_object_and_in_its_error_and_each_one_helps():
    masks, s = scene()
    model = Oracle()
    (out,) = simulate(model, torch.zeros(1, 3, S, S), [s["target"]], [s["meta"]], 3)
    from cvkit.vision.masks import decode_rle

    for obj, gt in zip(out["objects"], masks, strict=True):
        (x, y, lab) = obj["clicks"][0]
        assert lab == P.FOREGROUND and gt[y, x]  # column x, row y
        first = decode_rle(obj["masks"][0])
        ys, xs = np.nonzero(first)
        assert abs(xs.mean() - x) < 1.5 and abs(ys.mean() - y) < 1.5  # the disc is centred on the click
        prev = first
        for k in (1, 2):
            cx, cy, cl = obj["clicks"][k]
            assert gt[cy, cx] == (cl == P.FOREGROUND) and prev[cy, cx] != (cl == P.FOREGROUND)  # in the error
            cur = decode_rle(obj["masks"][k])
            assert mask_iou(cur, gt) > mask_iou(prev, gt)
            prev = cur
    later = [c for c in model.calls if not (c[1] >= P.BOX_TL).any()][1:]
    assert later and all(has_mask for _, _, has_mask in later)  # corrections see the previous logits
    first_call = model.calls[0][0]
    np.testing.assert_allclose(first_call[:, 0], [[o["clicks"][0][0] * SX, o["clicks"][0][1] * SY]
                                                for o in out["objects"]], rtol=1e-6)


def test_predict_box_is_two_labelled_corners_and_comes_back_in_place():
    masks, s = scene()
    model = Oracle()
    prompts = [{"points": [], "box": (90.0, 10.0, 150.0, 40.0)}, {"points": [(40.0, 70.0, P.FOREGROUND)], "box": None}]
    (rec,) = predictor.predict_prompts(model, torch.zeros(1, 3, S, S), [s["meta"]], [prompts], multimask=False)
    (coords, labels, _), = model.calls
    assert labels[0].tolist() == [P.BOX_TL, P.BOX_BR] and labels[1].tolist() == [P.FOREGROUND, P.PAD]
    np.testing.assert_allclose(coords[0], [[90 * SX, 10 * SY], [150 * SX, 40 * SY]], atol=1e-5)
    from cvkit.vision.masks import decode_rle

    assert mask_iou(decode_rle(rec["prompts"][0]["masks"][0]["rle"]), masks[0]) > 0.97
    disc = decode_rle(rec["prompts"][1]["masks"][0]["rle"])
    ys, xs = np.nonzero(disc)
    assert abs(xs.mean() - 40) < 1.5 and abs(ys.mean() - 70) < 1.5


@pytest.mark.parametrize("seed", range(4))
def test_training_corrections_fall_in_the_error_of_the_previous_round(seed):
    _, s = scene()
    model = Oracle()
    train_rounds(model, torch.zeros(1, 3, S, S), [s["target"]], [s["meta"]], np.random.default_rng(seed), 3)
    gt = s["target"]["masks"].bool().numpy()
    # prompt i is for object order[i]: training draws its objects as a permutation first (all are non-empty here)
    gt = gt[np.random.default_rng(seed).permutation(len(gt))]
    assert len(model.calls) == 3
    for r in (1, 2):
        before, after = model.calls[r - 1], model.calls[r]
        assert after[2] and not model.calls[0][2]  # rounds after the first get the previous logits
        for i in range(len(gt)):
            old = [tuple(p) for p, lab in zip(before[0][i], before[1][i], strict=True) if lab != P.PAD]
            new = [(p, lab) for p, lab in zip(after[0][i], after[1][i], strict=True) if lab != P.PAD]
            if len(new) == len(old):
                continue  # no error left
            (x, y), lab = new[-1]
            f = model.field(before[0][i], before[1][i])
            up = torch.nn.functional.interpolate(torch.from_numpy(f)[None, None].float(), (S, S), mode="bilinear",
                                                 align_corners=False)[0, 0].numpy() > 0
            assert gt[i, int(y), int(x)] == (lab == P.FOREGROUND)  # inside the object for a foreground click
            assert up[int(y), int(x)] != (lab == P.FOREGROUND)  # and where the previous mask was wrong
