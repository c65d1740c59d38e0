"""count-params: exact parameter totals, MACs by the stated convention, receptive fields, the course's examples."""

from __future__ import annotations

import json

import pytest
import torch
import torchvision
from torch import nn

from cvkit.count import count, count_module, parse_input_size
from cvkit.errors import UsageError

torch.set_num_threads(1)


def conv_report(stride: int):
    model = nn.Sequential(nn.Conv2d(3, 5, 5, stride=stride))
    return count_module(model, torch.zeros(1, 3, 32, 32))


# --------------------------------------------------------------------------- exact parameter totals
@pytest.mark.parametrize("name, params", [("alexnet", 61_100_840), ("vgg16", 138_357_544),
                                          ("resnet50", 25_557_032), ("mobilenet_v2", 3_504_872)])
def test_parameter_totals_are_exact(name, params):
    report = count(name)
    assert report.params == params == report.trainable_params
    assert sum(r.params for r in report.layers) == params  # every parameter listed exactly once


def test_course_alexnet_figure_is_the_original_two_gpu_network():
    """62.4M: the 2012 AlexNet (96-256-384-384-256 filters on 227x227) counted without its two-GPU grouping;
    with conv2/4/5 split over the two GPUs (groups=2) it has 60,965,224; torchvision's single-tower variant
    (64-192-384-256-256) has 61,100,840."""

    def alexnet_2012(groups: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(3, 96, 11, 4), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(96, 256, 5, padding=2, groups=groups), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 384, 3, padding=1, groups=groups), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1, groups=groups), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Flatten(),
            nn.Linear(256 * 6 * 6, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000))

    with torch.device("meta"):
        single, grouped = alexnet_2012(1), alexnet_2012(2)
    x = torch.zeros(1, 3, 227, 227, device="meta")
    assert count_module(single, x).params == 62_378_344
    assert count_module(grouped, x).params == 60_965_224
    assert count_module(single, x).layers[-1].output_shape == [1, 1000]


# --------------------------------------------------------------------------- MACs
def test_resnet18_macs_are_the_quoted_1_82_g():
    report = count("resnet18")
    assert report.macs == 1_814_073_344
    assert report.flops == 2 * report.macs
    assert sum(r.macs for r in report.layers) == report.macs


@pytest.mark.parametrize("name", ["alexnet", "vgg16", "resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small",
                                  "efficientnet_b0", "densenet121", "googlenet", "inception_v3", "squeezenet1_0",
                                  "shufflenet_v2_x1_0", "mnasnet0_5", "convnext_tiny", "regnet_y_400mf",
                                  "vit_b_32", "swin_t", "maxvit_t"])
def test_macs_match_torchvision_published_figures(name):
    """torchvision publishes GFLOPS (fvcore-style MACs) per model at its crop size, rounded to 3 decimals."""
    weights = next(iter(torchvision.models.get_model_weights(name)))
    crop = weights.transforms.keywords.get("crop_size", 224)
    report = count(name, input_size=(3, crop, crop))
    published = weights.meta["_ops"] * 1e9
    assert abs(report.macs - published) <= max(0.01 * published, 0.0005e9 + 1)


def test_conv_and_linear_macs_by_the_formula():
    # conv: Cout x H' x W' x Cin/groups x kH x kW ; linear: in x out (bias adds not counted)
    assert conv_report(1).macs == 5 * 28 * 28 * 3 * 5 * 5
    assert conv_report(3).macs == 5 * 10 * 10 * 3 * 5 * 5
    grouped = count_module(nn.Conv2d(8, 16, 3, padding=1, groups=4), torch.zeros(1, 8, 10, 10))
    assert grouped.macs == 16 * 10 * 10 * 2 * 3 * 3
    transposed = count_module(nn.ConvTranspose2d(4, 6, 2, stride=2), torch.zeros(1, 4, 5, 5))
    assert transposed.macs == 5 * 5 * 4 * 6 * 2 * 2  # input grid x weight size
    assert count_module(nn.Linear(300, 7), torch.zeros(1, 300)).macs == 2100
    assert count_module(nn.Linear(300, 7), torch.zeros(4, 9, 300)).macs == 4 * 9 * 2100


def test_attention_products_are_counted():
    attn = nn.MultiheadAttention(64, 4, batch_first=True)
    report = count_module(attn, (torch.zeros(1, 10, 64),) * 3)
    projections = 4 * 10 * 64 * 64  # q, k, v and output projections
    products = 2 * 10 * 10 * 64  # Q K^T and A V over 4 heads of 16
    assert report.macs == projections + products
    assert sum(r.params for r in report.layers) == report.params == sum(p.numel() for p in attn.parameters())


# --------------------------------------------------------------------------- the course's worked examples
def test_conv_5x5_five_filters_on_32x32x3():
    for stride, side in ((1, 28), (3, 10)):
        report = conv_report(stride)
        (layer,) = report.layers
        assert layer.output_shape == [1, 5, side, side]
        assert layer.params == report.params == 380  # 5 x (5 x 5 x 3) + 5
        assert layer.receptive_field == [5, 5] and layer.jump == [stride, stride]
        assert layer.activation_bytes == 5 * side * side * 4


def test_depthwise_separable_block_has_51_params_against_216():
    separable = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1, groups=3, bias=False), nn.Conv2d(3, 8, 1, bias=False))
    plain = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    x = torch.zeros(1, 3, 32, 32)
    assert [r.params for r in count_module(separable, x).layers] == [27, 24]
    assert count_module(separable, x).params == 51
    assert count_module(plain, x).params == 216
    assert count_module(separable, x).layers[-1].receptive_field == [3, 3]


def test_three_stacked_3x3_convs_see_7x7():
    model = nn.Sequential(*[nn.Conv2d(4, 4, 3, padding=1) for _ in range(3)])
    rows = count_module(model, torch.zeros(1, 4, 16, 16)).layers
    assert [r.receptive_field for r in rows] == [[3, 3], [5, 5], [7, 7]]
    assert all(r.jump == [1, 1] for r in rows)


def test_sample_cnn_per_layer_params():
    report = count("sample-cnn", task="classify", input_size=(3, 32, 32))
    assert [r.params for r in report.layers if r.params] == [280, 910, 910, 910, 910, 910, 1610]
    convs = [r for r in report.layers if r.type == "Conv2d"]
    assert convs[-1].output_shape == [1, 10, 8, 8]
    assert report.layers[-1].output_shape == [1, 10]


# --------------------------------------------------------------------------- receptive fields
@pytest.mark.parametrize("name, size, layer, field, jump", [
    ("alexnet", 224, "features.12", [195, 195], [32, 32]),  # published values: Araujo et al., Distill 2019
    ("vgg16", 224, "features.30", [212, 212], [32, 32]),
    ("inception_v3", 299, "Mixed_7c.branch3x3dbl_3b.bn", [1311, 1247], [32, 32]),
    ("resnet50", 224, "layer4.2.relu#3", [427, 427], [32, 32]),  # v1.5: stride on the 3x3 conv
])
def test_receptive_fields_of_known_networks(name, size, layer, field, jump):
    rows = {r.name: r for r in count(name, input_size=(3, size, size)).layers}
    assert rows[layer].receptive_field == field and rows[layer].jump == jump


def test_fields_through_pooling_upsampling_and_flattening():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.Upsample(scale_factor=2, mode="bilinear"),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3))
    rows = count_module(model, torch.zeros(1, 1, 18, 18)).layers
    assert [r.receptive_field for r in rows][:3] == [[3, 3], [4, 4], [6, 6]]
    assert [r.jump for r in rows][:3] == [[1, 1], [2, 2], [1, 1]]
    assert rows[3].receptive_field == [6 + 15 * 1, 6 + 15 * 1] and rows[3].jump == [16, 16]  # global pool of 16x16
    assert rows[4].receptive_field is None and rows[5].receptive_field is None  # off the spatial path


def test_vit_tokens_leave_the_spatial_path():
    report = count("vit_b_32")
    rows = {r.name: r for r in report.layers}
    assert rows["conv_proj"].receptive_field == [32, 32] and rows["conv_proj"].jump == [32, 32]
    assert rows["heads.head"].receptive_field is None
    assert report.params == 88_224_232 and report.macs == sum(r.macs for r in report.layers)


# --------------------------------------------------------------------------- detection / dict outputs
class TinyDetector(nn.Module):
    """Takes a list of images, returns one dict per image (the torchvision detection convention)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU())
        self.boxes = nn.Conv2d(8, 4, 1)
        self.scores = nn.Conv2d(8, 1, 1)

    def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        out = []
        for img in images:
            f = self.body(img[None])
            out.append({"boxes": self.boxes(f).flatten(2)[0].T, "scores": self.scores(f).flatten()})
        return out


def test_list_input_dict_output_model():
    report = count_module(TinyDetector(), [torch.zeros(3, 32, 32), torch.zeros(3, 32, 32)], input_size=(3, 32, 32))
    rows = {r.name: r for r in report.layers}
    assert rows["boxes"].macs == rows["boxes#2"].macs == 4 * 16 * 16 * 8  # one row per call (per image)
    assert rows["boxes#2"].params == 0 and rows["boxes"].params == 36  # parameters listed on the first call
    assert report.macs == 2 * (8 * 16 * 16 * 27 + 4 * 16 * 16 * 8 + 1 * 16 * 16 * 8)
    assert rows["body.0"].receptive_field == [3, 3] and rows["body.0"].jump == [2, 2]
    assert report.params == sum(r.params for r in report.layers) == 224 + 36 + 9


def test_detection_task_model_counts_through_the_plugin():
    report = count("centernet", task="detect")
    assert report.task == "detect" and report.input_size == (3, 128, 128)
    assert report.macs > 0 and report.forward_error is None
    assert report.params == sum(r.params for r in report.layers)


# --------------------------------------------------------------------------- resolution and errors
def test_user_builder_from_file_and_module(tmp_path, monkeypatch):
    (tmp_path / "mynet.py").write_text(
        "import torch\nfrom torch import nn\n\n"
        "def build():\n    return nn.Sequential(nn.Conv2d(3, 5, 5), nn.ReLU())\n\n"
        "def with_input():\n    return nn.Linear(6, 2), torch.zeros(1, 6)\n")
    report = count(f"{tmp_path / 'mynet.py'}:build", input_size=(3, 32, 32))
    assert report.params == 380 and report.layers[0].output_shape == [1, 5, 28, 28]
    assert count(f"{tmp_path / 'mynet.py'}:with_input").macs == 12
    monkeypatch.syspath_prepend(str(tmp_path))
    assert count("mynet:build", input_size=(3, 32, 32)).params == 380
    assert count("torchvision.models:resnet18").params == 11_689_512


def test_bad_names_and_sizes(tmp_path):
    with pytest.raises(UsageError, match="unknown model 'resnet1'.*did you mean"):
        count("resnet1")
    with pytest.raises(UsageError, match="--input-size"):
        parse_input_size("3,a,4")
    assert parse_input_size("3,16,112,112") == (3, 16, 112, 112) and parse_input_size("64") == (3, 64, 64)
    with pytest.raises(Exception, match="no such file"):
        count(f"{tmp_path / 'missing.py'}:build")


def test_model_whose_forward_fails_still_gets_parameters():
    report = count("knn", task="classify")
    assert report.params == 0 and report.macs is None and "not been fitted" in report.forward_error


# --------------------------------------------------------------------------- the command
def run_cli(capsys, *args):
    from cvkit.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_cli_json_document(capsys):
    code, out, err = run_cli(capsys, "count-params", "sample-cnn", "--task", "classify", "--input-size", "3,32,32",
                             "--json")
    assert code in (0, None)
    doc = json.loads(out)
    assert {"params", "trainable_params", "macs", "flops", "input_size", "layers"} <= set(doc)
    assert doc["params"] == 6440 and doc["flops"] == 2 * doc["macs"] and doc["input_size"] == [3, 32, 32]
    assert set(doc["layers"][0]) == {"name", "type", "output_shape", "params", "macs", "receptive_field", "jump",
                                     "activation_bytes"}


def test_cli_per_layer_table_and_errors(capsys):
    code, out, _ = run_cli(capsys, "count-params", "resnet18", "--per-layer")
    assert code in (0, None)
    assert "layer4.1.conv2" in out and "11,689,512" in out and "1,814,073,344" in out and "2 x MACs" in out
    code, out, err = run_cli(capsys, "count-params", "no_such_model")
    assert code == 2 and out == "" and err.startswith("error: unknown model")
