"""Decoding, the clip index, clip sampling, frame-order controls and the optical-flow cache."""

from __future__ import annotations

import random

import cv2
import numpy as np
import pytest
import torch

from cvkit.errors import BadInput
from cvkit.task import DatasetInfo, ModelConfig
from cvkit_video.cache import VideoIndex, dataset_cache
from cvkit_video.clips import ClipSpec, reorder
from cvkit_video.data import VideoDataset
from cvkit_video.decode import probe, read_frames
from cvkit_video.flow import flows
from tests.plugins.video.fixtures import write_video

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def dataset(tmp_path, sources, name="slow", train=False, order="natural", **args) -> VideoDataset:
    info = DatasetInfo("t", "videolist", f"videolist:{tmp_path}", "val", ["a", "b", "c"],
                       {"mirror_pairs": [[0, 1]], "reverse_pairs": [[0, 1]]})
    model = ModelConfig(name, 32, {"frames": 4, "clips": 3, **args}, MEAN, STD)
    from cvkit_video.models import modality

    spec = ClipSpec.from_args(model.args, *modality(name))
    return VideoDataset(info, [str(s) for s in sources], [[0]] * len(sources), model, spec, train, order)


def test_frame_count_is_decoded_not_read_from_the_header(tmp_path):
    video = write_video(tmp_path / "v.mp4", frames=11)
    meta, kept = probe(video, keep_frames=20)
    assert meta.frames == 11 and (meta.height, meta.width) == (32, 32) and len(kept) == 11
    assert probe(video, keep_frames=5)[1] is None  # too long to keep: counted, not kept
    frames = read_frames(video, [10, 0, 3])
    assert sorted(frames) == [0, 3, 10] and frames[0].shape == (32, 32, 3)
    # the square moves right 2 px a frame: its left edge tells the frame
    assert np.argmax(frames[3][16, :, 0] > 170) == 2 + 6


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file"),
    (b"not a video at all" * 50, "cannot open as a video"),
    (None, "cannot open as a video"),  # truncated mp4 (its index is written at the end)
])
def test_undecodable_videos_are_bad_input_naming_the_file(tmp_path, content, reason):
    bad = tmp_path / "bad.mp4"
    if content is None:
        data = write_video(tmp_path / "good.mp4", frames=12).read_bytes()
        content = data[: len(data) // 2]
    bad.write_bytes(content)
    with pytest.raises(BadInput) as exc:
        probe(bad)
    assert exc.value.path == str(bad) and reason in exc.value.reason
    ds = dataset(tmp_path, [bad])
    with pytest.raises(BadInput, match=str(bad)):
        ds[0]
    with pytest.raises(BadInput, match="no such file"):
        dataset(tmp_path, [tmp_path / "gone.mp4"])[0]


def test_read_past_the_end_is_bad_input(tmp_path):
    video = write_video(tmp_path / "v.mp4", frames=5)
    with pytest.raises(BadInput, match="decoding stopped at frame 5"):
        read_frames(video, [2, 7])


def test_clip_positions():
    spec = ClipSpec(frames=4, stride=2, clips=3)
    assert spec.span == 7 and spec.indices(1, 20) == [1, 3, 5, 7]
    assert spec.eval_starts(20) == [0, 6, 13] and spec.eval_starts(5) == [0, 0, 0]
    assert spec.indices(0, 5) == [0, 2, 4, 4]  # short video: the last frame repeats
    flow = ClipSpec(frames=4, stride=1, flow=True)
    assert flow.length == 5 and flow.span == 5
    random.seed(0)
    assert all(0 <= spec.train_start(20) <= 13 for _ in range(50))
    rng = np.random.default_rng(0)
    shuffled = reorder([0, 1, 2, 3, 4, 5], "shuffled", rng)
    assert sorted(shuffled) == [0, 1, 2, 3, 4, 5] and shuffled != [0, 1, 2, 3, 4, 5]
    assert reorder([0, 1, 2], "reversed") == [2, 1, 0]


def test_eval_sample_is_k_uniform_clips_and_the_index_is_cached(tmp_path):
    video = write_video(tmp_path / "v.mp4", frames=10)
    ds = dataset(tmp_path, [video])
    clips, labels, meta = ds[0]
    assert clips.shape == (3, 3, 4, 32, 32) and labels == [0] and meta["starts"] == [0, 3, 6]
    lines = (dataset_cache(ds.info.spec) / "index.jsonl").read_text().splitlines()
    assert len(lines) == 1 and '"frames": 10' in lines[0]
    assert VideoIndex(dataset_cache(ds.info.spec)).get(next(iter(ds.index._load()))).frames == 10
    again = dataset(tmp_path, [video])[0][0]  # a fresh dataset reads the index and decodes the same frames
    torch.testing.assert_close(again, clips)
    assert clips.dtype == torch.uint8 and meta["normalize"] == (MEAN, STD)  # normalised per batch, in collate
    x = clips[0, 0, :, 16] / 255  # first clip, red channel, middle row: the square at x = 2 + 2t
    assert [int(torch.nonzero(x[t] > 0.7)[0]) for t in range(4)] == [2, 4, 6, 8]


def test_collate_normalises_the_batch_as_clip_by_clip(tmp_path):
    from cvkit_video.data import collate_clips
    from cvkit_video.transforms import rgb_tensor

    videos = [write_video(tmp_path / f"v{i}.mp4", frames=10 + i) for i in range(3)]
    ds = dataset(tmp_path, videos)
    samples = [ds[i] for i in range(3)]
    clips, metas = collate_clips(samples)
    assert clips.dtype == torch.float32 and clips.shape == (3, 3, 3, 4, 32, 32)
    for (raw, _, _), got in zip(samples, clips, strict=True):
        frames = raw.permute(0, 2, 3, 4, 1).numpy()  # (K, T, H, W, 3), the layout rgb_tensor takes
        want = torch.stack([rgb_tensor(f, MEAN, STD) for f in frames])
        assert torch.equal(got, want)  # the same arithmetic, to the bit
    assert all("normalize" not in m and "source" in m for m in metas)
    assert "normalize" in samples[0][2]  # the samples themselves are left as they were


def test_frame_order_controls(tmp_path):
    video = write_video(tmp_path / "v.mp4", frames=10)
    natural = dataset(tmp_path, [video])[0][0]
    reversed_ = dataset(tmp_path, [video], order="reversed")[0][0]
    torch.testing.assert_close(reversed_, natural.flip(2))
    a = dataset(tmp_path, [video], order="shuffled")[0][0]
    b = dataset(tmp_path, [video], order="shuffled")[0][0]
    torch.testing.assert_close(a, b)  # evaluation is deterministic
    assert not torch.equal(a, natural)
    firsts = {tuple(sorted(float(a[k, 0, t].sum()) for t in range(4))) for k in range(3)}
    assert firsts == {tuple(sorted(float(natural[k, 0, t].sum()) for t in range(4))) for k in range(3)}


def test_training_sample_is_one_clip_with_mirror_and_reversal_swapping_labels(tmp_path):
    video = write_video(tmp_path / "v.mp4", frames=10)
    ds = dataset(tmp_path, [video], train=True)
    seen = set()
    for seed in range(12):
        torch.manual_seed(seed), random.seed(seed), np.random.seed(seed)
        clips, labels, _ = ds[0]
        assert clips.shape == (1, 3, 4, 32, 32)
        seen.add(labels[0])
    assert seen == {0, 1}  # mirrored or played backwards: "a" became its partner "b"
    ds = dataset(tmp_path, [video], train=True, augment="none")
    assert {ds[0][1][0] for _ in range(6)} == {0}


def test_flow_input_and_disk_cache(tmp_path):
    video = write_video(tmp_path / "v.mp4", frames=10, speed=2)
    ds = dataset(tmp_path, [video], name="two-stream")
    clips, _, _ = ds[0]
    assert clips.shape == (3, 5, 4, 32, 32)
    dx = clips[0, 3, :, 12:20, 4:20]  # on the square, flow points right (mean flow subtracted: > 0 still)
    assert float(dx.mean()) > 0.5
    cached = list((dataset_cache(ds.info.spec) / "flow").glob("*.npy"))
    assert len(cached) == 1 and np.load(cached[0]).shape == (9, 32, 32, 2)
    fresh = dataset(tmp_path, [video], name="two-stream")[0][0]  # from the disk cache
    torch.testing.assert_close(fresh, clips, atol=2e-3, rtol=0)  # float16 on disk
    _, frames = probe(video, keep_frames=20)
    backwards = flows(np.stack(frames)[[4, 3, 2, 1, 0]])  # first clip played backwards, computed here
    reversed_ = dataset(tmp_path, [video], name="flow", order="reversed")[0][0]  # from the backward flow cache
    torch.testing.assert_close(reversed_[0], torch.from_numpy(backwards).permute(3, 0, 1, 2), atol=2e-3, rtol=0)
    assert len(list((dataset_cache(ds.info.spec) / "flow").glob("*-bwd.npy"))) == 1
    shuffled = dataset(tmp_path, [video], name="flow", order="shuffled")[0][0]
    assert shuffled.shape == (3, 2, 4, 32, 32) and not torch.allclose(shuffled, clips[:, 3:], atol=0.1)


def test_mean_flow_is_subtracted():
    a = np.zeros((48, 48, 3), np.uint8)
    cv2.fillPoly(a, [np.array([[14, 12], [34, 16], [24, 36]])], (200, 100, 50))
    b = np.roll(a, 2, axis=1)  # the triangle moves 2 px right
    f = flows([a, b])  # Farneback
    assert f.shape == (1, 48, 48, 2) and abs(float(f[0, ..., 0].mean())) < 1e-4
    inside, outside = float(f[0, 18:26, 20:26, 0].mean()), float(f[0, :6, :, 0].mean())
    assert inside - outside > 1.5 and inside > 1.0 and outside < 0
