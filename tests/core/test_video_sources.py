"""Videos, cameras and folders of frames as ``predict`` sources of image tasks: frames decoded one by one with OpenCV,
one record per frame (``frame``, ``time``), the same predictions as the frames saved as images, an annotated video
with ``--save-vis``, and one-line errors naming an unreadable video. Videos are written here with cv2.VideoWriter."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from cvkit.data import load_split
from cvkit.engine.predict import predict
from cvkit.errors import BadInput
from cvkit.io.sources import count_sources, expand_sources, frames_for, read_frames
from cvkit.io.writers import make_writer
from cvkit.plugin import get_task
from cvkit.task import ModelConfig

FPS = 10.0
CODECS = {".mp4": "mp4v", ".avi": "MJPG"}


def write_video(path, n=7, size=(80, 64)):
    """``n`` frames: a disc moving right over a grey ramp that brightens frame by frame."""
    w, h = size
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*CODECS[path.suffix]), FPS, size)
    assert out.isOpened()
    for i in range(n):
        frame = np.tile(np.linspace(0, 120, w, dtype=np.uint8), (h, 1))[:, :, None].repeat(3, 2) + 10 * i
        cv2.circle(frame, (12 + 8 * i, h // 2), 10, (30, 200, 250), -1)
        out.write(frame)
    out.release()
    return path


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_frames_stream_with_index_time_and_stride(tmp_path, suffix):
    video = write_video(tmp_path / f"clip{suffix}")
    frames = list(read_frames(str(video)))
    assert [f.index for f in frames] == list(range(7))
    assert [f.time for f in frames] == [round(i / FPS, 6) for i in range(7)] and frames[0].fps == FPS
    assert frames[0].image.shape == (64, 80, 3) and frames[0].image.dtype == np.uint8
    # RGB order: the disc was drawn as BGR (30, 200, 250), so its centre reads back red-heavy
    r, g, b = frames[0].image[32, 12].astype(int)
    assert r > 200 and b < 90 and g > 150
    # brightness increases frame by frame (the ramp's left column: 10 * i)
    left = [int(f.image[5, 0].mean()) for f in frames]
    assert left == sorted(left) and left[-1] - left[0] > 40
    strided = list(read_frames(str(video), stride=3))
    assert [f.index for f in strided] == [0, 3, 6] and [f.time for f in strided] == [0.0, 0.3, 0.6]
    np.testing.assert_array_equal(strided[1].image, frames[3].image)
    assert count_sources([str(video)], frames_of=(suffix,), stride=3) == 3
    assert count_sources([str(video)]) == 1  # a task that takes the video itself (the video task)


def test_unreadable_videos_and_cameras_name_themselves(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    cases = {str(bad): "broken.mp4: not a readable video", str(tmp_path / "gone.avi"): "gone.avi: no such file",
             "camera:x": "camera:x: a camera is camera:N"}
    for source, message in cases.items():
        with pytest.raises(BadInput, match=message):
            list(read_frames(source))
    probe = cv2.VideoCapture(7)
    if probe.isOpened():  # a machine with a camera 7 skips the error case
        probe.release()
        pytest.skip("camera 7 exists here")
    with pytest.raises(BadInput, match=r"^camera:7: no camera 7 could be opened"):
        list(read_frames("camera:7"))


def test_a_folder_of_frames_is_read_in_natural_order(tmp_path):
    for i in (10, 2, 1, 33, 3):
        cv2.imwrite(str(tmp_path / f"frame_{i}.png"), np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "sub").mkdir()
    cv2.imwrite(str(tmp_path / "sub" / "a.png"), np.zeros((4, 4, 3), np.uint8))
    names = [p.rsplit("/", 1)[-1] for p in expand_sources([str(tmp_path)])]
    assert names == ["frame_1.png", "frame_2.png", "frame_3.png", "frame_10.png", "frame_33.png", "a.png"]
    assert frames_for(get_task("detect").input_extensions) == frames_for(()) and ".avi" in frames_for(())
    assert frames_for(get_task("video").input_extensions) == ()  # the video task reads clips, not frames


# one small model per image task, built untrained: what matters is that frames and images give the same records
TASKS = {"detect": ("shapes", "voc", 64, {}), "segment": ("shapes", "voc-seg", 32, {"width": 8, "depth": 3}),
         "instance": ("shapes", "coco", 64, {}), "pose": ("stickmen", "coco", 32, {}),
         "classify": ("digits", "imagefolder", 16, {})}


@pytest.mark.parametrize("name", list(TASKS))
def test_each_frame_is_predicted_like_the_same_frame_saved_as_an_image(name, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    torch.manual_seed(0)
    task = get_task(name)
    builtin, fmt, size, args = TASKS[name]
    spec = task.builtins()[builtin].write(tmp_path / "data", fmt, 12, 0)
    info = load_split(task, spec, "val").info
    cfg = ModelConfig(task.default_model, size, args, task.mean, task.std)
    model = task.build_model(cfg, info).eval()
    video = write_video(tmp_path / "clip.mp4", n=5)
    frames = tmp_path / "frames"
    frames.mkdir()
    for f in read_frames(str(video)):
        cv2.imwrite(str(frames / f"f{f.index}.png"), cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR))

    def run(sources, out, **kw):
        writer = make_writer("jsonl", str(tmp_path / out))
        stats = predict(task, model, cfg, info, sources, writer, torch.device("cpu"), batch_size=2, **kw)
        writer.close(True)
        return stats, [json.loads(line) for line in (tmp_path / out).read_text().splitlines()]

    stats, recs = run([str(video)], "v.jsonl", save_vis=tmp_path / "vis", vid_stride=2)
    assert stats.inputs == 3 and stats.errors == 0
    assert [(r["source"], r["frame"], r["time"]) for r in recs] == [(str(video), i, i / FPS) for i in (0, 2, 4)]
    assert list(recs[0])[:4] == ["source", "frame", "time", "task"]
    _, images = run([str(frames / f"f{i}.png") for i in (0, 2, 4)], "i.jsonl")
    strip = ("source", "frame", "time")
    assert [{k: v for k, v in r.items() if k not in strip} for r in recs] == \
        [{k: v for k, v in r.items() if k not in strip} for r in images]
    [vis] = list((tmp_path / "vis").iterdir())  # the annotated video, renamed into place; no temporary left
    assert vis.name == "000000_clip.mp4"
    cap = cv2.VideoCapture(str(vis))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3 and cap.get(cv2.CAP_PROP_FPS) == pytest.approx(FPS / 2)
    cap.release()
    assert list((tmp_path / "tmp").iterdir()) == []  # the spooled frames are gone


def test_a_broken_video_is_an_error_record_between_good_inputs(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    task = get_task("classify")
    spec = task.builtins()["digits"].write(tmp_path / "data", "imagefolder", 12, 0)
    info = load_split(task, spec, "val").info
    cfg = ModelConfig("mlp", 16, {}, task.mean, task.std)
    model = task.build_model(cfg, info).eval()
    video = write_video(tmp_path / "a.avi", n=3)
    bad = tmp_path / "b.mp4"
    bad.write_bytes(b"not a video")
    writer = make_writer("jsonl", str(tmp_path / "p.jsonl"))
    stats = predict(task, model, cfg, info, [str(bad), str(video), str(bad)], writer, torch.device("cpu"),
                    batch_size=2, save_vis=tmp_path / "vis")
    writer.close(True)
    assert stats.inputs == 5 and stats.errors == 2
    recs = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [(r["source"], r.get("frame")) for r in recs] == [(str(bad), None), (str(video), 0), (str(video), 1),
                                                              (str(video), 2), (str(bad), None)]
    assert recs[0]["error"] == recs[-1]["error"] and recs[0]["error"].startswith(f"{bad}: not a readable video")
    assert "\n" not in recs[0]["error"] and all("topk" in r for r in recs[1:4])
    assert [p.name for p in (tmp_path / "vis").iterdir()] == ["000001_a.mp4"]
    assert list((tmp_path / "tmp").iterdir()) == []
