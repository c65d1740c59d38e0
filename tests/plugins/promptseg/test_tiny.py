"""sam-tiny's parts: the click's image feature (sampled where the click is, clicks only) and the output stride."""

from __future__ import annotations

import pytest
import torch

from cvkit_promptseg.models.tiny import build_tiny, features_at


def test_features_at_cell_centres_and_between():
    gen = torch.Generator().manual_seed(0)
    emb = torch.randn(2, 5, 4, 6, generator=gen)  # (P, C, h, w)
    # the centre of cell (row 2, col 5) of prompt 0 and of cell (row 0, col 1) of prompt 1, in [0, 1] coordinates
    xy = torch.tensor([[[5.5 / 6, 2.5 / 4]], [[1.5 / 6, 0.5 / 4]]])
    out = features_at(emb, xy)
    assert out.shape == (2, 1, 5)
    torch.testing.assert_close(out[0, 0], emb[0, :, 2, 5])
    torch.testing.assert_close(out[1, 0], emb[1, :, 0, 1])
    # half-way between two cells of a row: their mean
    mid = features_at(emb, torch.tensor([[[2.0 / 6, 1.5 / 4]]] * 2))
    torch.testing.assert_close(mid[0, 0], (emb[0, :, 1, 1] + emb[0, :, 1, 2]) / 2)


def test_click_tokens_get_the_feature_box_corners_and_padding_do_not():
    torch.manual_seed(0)
    model = build_tiny(64, {"dim": 32, "width": 8}).eval()
    emb = torch.randn(1, 32, 8, 8)
    points = torch.tensor([[[20.0, 12.0], [3.0, 4.0], [40.0, 50.0], [0.0, 0.0], [9.0, 30.0]]])
    labels = torch.tensor([[1.0, 2.0, 3.0, -1.0, 0.0]])
    with torch.no_grad():
        with_feature = model.prompt_tokens(points, labels, emb)
        without = model.prompt_tokens(points, labels, None)
        other = model.prompt_tokens(points, labels, emb + 1)
    changed = (with_feature - without).abs().amax(-1)[0]
    assert (changed[[0, 4]] > 0).all() and (changed[[1, 2, 3]] == 0).all()
    assert ((other - with_feature).abs().amax(-1)[0, [0, 4]] > 0).all()  # it depends on the image features


@pytest.mark.parametrize("stride", [2, 4])
def test_output_stride(stride):
    torch.manual_seed(0)
    model = build_tiny(64, {"dim": 32, "width": 8, "stride": str(stride)}).eval()
    assert model.low_res == 64 // stride
    image, points, labels, mask_input, has_mask = model.example_inputs(prompts=3, points=2)
    assert mask_input.shape == (3, 1, 64 // stride, 64 // stride)
    with torch.no_grad():
        masks, iou = model(image, points, labels, torch.randn(mask_input.shape), torch.tensor([0.0, 1.0, 1.0]))
    assert masks.shape == (3, 4, 64 // stride, 64 // stride) and iou.shape == (3, 4)


def test_unknown_stride_refused():
    with pytest.raises(ValueError, match="stride"):
        build_tiny(64, {"stride": "8"})


def test_prompt_maps_place_clicks_box_and_previous_mask():
    model = build_tiny(64, {"dim": 32, "width": 8, "maps": "1"}).eval()
    # prompt 0: a box (edges 8..24 in x, 16..40 in y); prompt 1: a foreground click at (40, 12), a background
    # click at (10, 50), padding, and a previous mask
    points = torch.tensor([[[8.0, 16.0], [24.0, 40.0], [0.0, 0.0]], [[40.0, 12.0], [10.0, 50.0], [0.0, 0.0]]])
    labels = torch.tensor([[2.0, 3.0, -1.0], [1.0, 0.0, -1.0]])
    prev = torch.full((2, 1, 16, 16), -20.0)
    prev[:, :, 4:8, 4:8] = 20.0
    with torch.no_grad():
        maps = model.prompt_maps(points, labels, prev, torch.tensor([0.0, 1.0]), 64)
    assert maps.shape == (2, 4, 64, 64)
    previous, fg, bg, box = maps.unbind(1)
    assert previous[0].abs().max() == 0  # no previous mask for prompt 0
    assert previous[1, 20, 20] > 0.99 and previous[1, 50, 50] < 0.01  # logits at stride 4, maps at stride 1
    assert fg[1, 12, 40] == 1 and bg[1, 50, 10] == 1 and fg[1, 50, 10] < 1e-6 and bg[1, 12, 40] < 1e-6
    assert fg[0].max() == 0 and bg[0].max() == 0  # box corners and padding are no clicks
    assert box[1].max() == 0
    assert box[0, 28, 16] > 0.99 and box[0, 28, 2] < 0.01 and box[0, 46, 16] < 0.01
    assert box[0, 28, 8] > 0.5 > box[0, 28, 7]  # the box's first pixel (edge 8) is inside, the one before not


@pytest.mark.parametrize("stride", [2, 4])
def test_prompt_maps_start_as_no_ops(stride):
    outputs = []
    for maps in ("0", "1"):
        torch.manual_seed(0)
        model = build_tiny(64, {"dim": 32, "width": 8, "stride": str(stride), "maps": maps}).eval()
        image, points, labels, mask_input, _ = model.example_inputs(prompts=2, points=3)
        previous = torch.randn(mask_input.shape, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            outputs.append(model(image, points, labels, previous, torch.tensor([0.0, 1.0])))
    torch.testing.assert_close(outputs[0], outputs[1])
    assert (model.maps4 is not None) and ((model.maps2 is not None) == (stride == 2))


def test_focus_window_follows_the_latest_click_and_starts_as_a_no_op():
    torch.manual_seed(0)
    model = build_tiny(64, {"dim": 32, "width": 8, "focus": "16"}).eval()
    assert model.low_res == 64  # full-resolution masks
    image, _, _, _, _ = model.example_inputs()
    # prompt 0: a click at (20, 30) then a correction at (50, 10); prompt 1: a box 4..20 x 40..60; prompt 2: a click
    # near the corner (the window stays inside the image)
    points = torch.tensor([[[20.0, 30.0], [50.0, 10.0]], [[4.0, 40.0], [20.0, 60.0]], [[2.0, 62.0], [0.0, 0.0]]])
    labels = torch.tensor([[1.0, 0.0], [2.0, 3.0], [1.0, -1.0]])
    with torch.no_grad():
        start, _ = model(image, points, labels, torch.zeros(3, 1, 64, 64), torch.zeros(3))
        net, model.focus_net = model.focus_net, None  # the same model without the window: stride-4 masks
        base, _ = model(image, points, labels, torch.zeros(3, 1, 64, 64), torch.zeros(3))
        model.focus_net = net
        up = torch.nn.functional.interpolate(base, (64, 64), mode="bilinear", align_corners=False)
        torch.testing.assert_close(start, up)  # zero at initialisation: the upsampled masks
        torch.nn.init.constant_(model.focus_net[-1].bias, 1.0)
        moved, _ = model(image, points, labels, torch.zeros(3, 1, 64, 64), torch.zeros(3))
    windows = []
    for k in range(3):
        ys, xs = torch.nonzero((moved - start)[k, 0].abs() > 1e-4, as_tuple=True)
        windows.append((int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())))
    assert windows == [(42, 57, 2, 17), (4, 19, 42, 57), (0, 15, 48, 63)]


def test_focus_window_sizes():
    with pytest.raises(ValueError, match="focus"):
        build_tiny(64, {"focus": "4"})
    assert build_tiny(32, {"dim": 32, "width": 8, "focus": "48"}).focus == 32  # the whole image at most


def test_focus_window_exports_to_onnx():
    import io
    import warnings

    import numpy as np
    import onnxruntime as ort

    torch.manual_seed(0)
    model = build_tiny(64, {"dim": 32, "width": 8, "focus": "16"}).eval()
    torch.nn.init.normal_(model.focus_net[-1].weight, std=0.1)  # a window that changes the masks
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, model.example_inputs(prompts=2, points=3), buf, input_names=list(model.input_names),
                          output_names=list(model.output_names), dynamic_axes=model.dynamic_axes, opset_version=17,
                          dynamo=False)
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    feed = model.verification_inputs()  # 3 prompts of 4 points: other shapes than the export's
    got = session.run(None, {i.name: t.numpy() for i, t in zip(session.get_inputs(), feed, strict=True)})
    with torch.no_grad():
        ref = model(*feed)
    assert got[0].shape == (3, 4, 64, 64)
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(g, r.numpy(), atol=1e-4, rtol=1e-4)
