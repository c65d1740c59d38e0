"""sift-bow: dense SIFT, k-means words, pyramid histograms and SVMs that equal scikit-learn's on the same
histograms; plain-data checkpoints; a clear refusal to export."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.metrics.pairwise import chi2_kernel
from sklearn.svm import SVC, LinearSVC

from cvkit.errors import CvkitError, UsageError
from cvkit.task import IMAGENET_MEAN, IMAGENET_STD, Batch
from cvkit_classify.bow import SiftBow, build_sift_bow, chi2_distance
from cvkit_classify.models import build

ARGS = {"vocab": 24, "size": 32, "step": 4, "patch": 8, "max_descriptors": 5000}


def _digits(n: int, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    d = load_digits()
    img = torch.from_numpy(d.images[offset : offset + n] / 16.0).float()[:, None].repeat(1, 3, 1, 1)
    img = torch.nn.functional.interpolate(img, size=32, mode="bilinear", align_corners=False)
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (img - mean) / std, torch.from_numpy(d.target[offset : offset + n]).long()


def _batches(x: torch.Tensor, y: torch.Tensor, size: int = 64):
    for i in range(0, len(x), size):
        yield Batch(x[i : i + size], y[i : i + size], list(range(i, min(i + size, len(x)))), [])


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    xt, yt = _digits(300)
    xv, yv = _digits(100, 1000)
    return xt, yt, xv, yv


@pytest.fixture(scope="module")
def fitted(data) -> dict[str, SiftBow]:
    xt, yt, _, _ = data
    models = {}
    for svm in ("linear", "chi2"):
        models[svm] = build("sift-bow", 10, 16, {**ARGS, "svm": svm}, False)
        models[svm].fit(_batches(xt, yt))
    return models


@pytest.mark.parametrize("svm", ["linear", "chi2"])
def test_fit_predict_and_reference_svm(data, fitted, svm: str) -> None:
    xt, yt, xv, yv = data
    model = fitted[svm]
    assert isinstance(model, SiftBow) and model.fitted_in_one_pass
    accuracy = float((model(xv).argmax(1) == yv).float().mean())
    assert accuracy > 0.7  # chance is 0.1
    # the stored SVM reproduces scikit-learn's decision values on the same training histograms
    descs, pts = model.descriptors(model.grey(xt))
    hist = model.encode(descs, pts)
    assert hist.shape == (300, 24 * 5) and np.allclose(hist.sum(1), 1.0)  # 1/2 whole image + 1/2 over 4 cells
    y = yt.numpy()
    vd, vp = model.descriptors(model.grey(xv))
    test = model.encode(vd, vp)
    if svm == "linear":
        ref = LinearSVC(C=1.0, random_state=0, max_iter=5000).fit(np.sqrt(hist), y == 3)
        want = ref.decision_function(np.sqrt(test))
    else:
        gamma = float(model.gamma[0])
        assert gamma == pytest.approx(1.0 / chi2_distance(hist, hist).mean())
        ref = SVC(kernel="precomputed", C=1.0).fit(chi2_kernel(hist, hist, gamma=gamma), y == 3)
        want = ref.decision_function(chi2_kernel(test, hist, gamma=gamma))
    np.testing.assert_allclose(model.decision(test)[:, 3], want, rtol=1e-5, atol=1e-5)


def test_chi2_distance_is_sklearns_kernel() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random((5, 7)), rng.random((4, 7))
    a[0, :3] = 0
    b[1, :3] = 0  # 0/0 terms count 0
    np.testing.assert_allclose(np.exp(-0.7 * chi2_distance(a, b)), chi2_kernel(a, b, gamma=0.7), rtol=1e-12)


def test_checkpoint_is_plain_data_and_reloads(data, fitted) -> None:
    xv = data[2]
    model = fitted["chi2"]
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    assert set(state) == {"centers", "weight", "bias", "support", "dual", "gamma"}
    again = build_sift_bow(10, {**ARGS, "svm": "chi2"}, False)
    again.load_state_dict(state)
    assert torch.equal(again(xv), model(xv))
    with pytest.raises(CvkitError, match="sift-bow cannot be exported"):
        torch.jit.trace(model, (xv[:2],), check_trace=False, strict=False)


def test_unfitted_and_bad_arguments() -> None:
    with pytest.raises(CvkitError, match="has not been fitted"):
        build_sift_bow(10, ARGS, False)(torch.zeros(1, 3, 16, 16))
    with pytest.raises(UsageError, match="svm=rbf"):
        build_sift_bow(10, {"svm": "rbf"}, False)
    with pytest.raises(UsageError, match="--model-arg k"):
        build_sift_bow(10, {"k": 3}, False)
    with pytest.raises(UsageError, match="--pretrained"):
        build_sift_bow(10, {}, True)


def test_export_refusal_is_declared() -> None:
    from cvkit.model import export_refusal

    reason = export_refusal(build_sift_bow(10, {}, False))
    assert reason is not None and "outside the torch graph" in reason
