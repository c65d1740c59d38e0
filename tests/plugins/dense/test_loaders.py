"""Loaders on real-format fixtures: image + 16-bit depth folders, KITTI depth (annotated and selection layouts),
NYU Depth v2 labelled .mat (v7.3 HDF5 and older MATLAB), and the ray-cast rooms."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from cvkit.errors import BadInput, CvkitError
from cvkit_dense.datasets.depthio import encode_depth_png, encode_normals_png, load_target, read_depth, read_normals
from cvkit_dense.datasets.folder import DepthFolderFormat
from cvkit_dense.datasets.kitti import KittiDepthFormat
from cvkit_dense.datasets.nyu import NyuFormat, read_frame
from cvkit_dense.datasets.rooms import RoomsDataset
from cvkit_dense.datasets.rooms_render import FOCAL, render


def _img(path: Path, h: int = 6, w: int = 8, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((h, w, 3), value, np.uint8))


def _u16(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), arr.astype(np.uint16))


def test_depth_and_normals_png_round_trip(tmp_path):
    depth = np.array([[0, 1.2344, 70.0], [np.nan, 0.0004, 3.0]], np.float32)
    (tmp_path / "d.png").write_bytes(encode_depth_png(depth, 1000))
    raw = cv2.imread(str(tmp_path / "d.png"), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and raw.tolist() == [[0, 1234, 65535], [0, 1, 3000]]  # 70 m saturates at 65.535
    assert read_depth(tmp_path / "d.png", 1000)[0, 1] == pytest.approx(1.234)
    n = np.zeros((2, 2, 3), np.float32)
    n[0, 0] = [0, 0, -1]
    n[1, 1] = [0.6, -0.8, 0]
    (tmp_path / "n.png").write_bytes(encode_normals_png(n))
    back = read_normals(tmp_path / "n.png")
    np.testing.assert_allclose(back, n, atol=4e-5)  # one 16-bit step
    assert (back[0, 1] == 0).all()


def test_folder_format(tmp_path):
    root = tmp_path / "data"
    for split in ("train", "val"):
        for k in range(3):
            _img(root / split / "images" / f"a{k}.png")
            _u16(root / split / "depth" / f"a{k}.png", np.full((6, 8), 1500 + k))
    np.save(root / "val" / "normals_unused.npy", np.zeros(3))
    (root / "depth.json").write_text(json.dumps({"depth_scale": 500, "crop": "none", "max_depth": 5}))
    fmt = DepthFolderFormat()
    assert fmt.detect(root)
    raw = fmt.load(root, "val", {})
    assert [Path(s).name for s in raw.sources] == ["a0.png", "a1.png", "a2.png"]
    assert raw.info.extra["max_depth"] == 5 and raw.info.extra["image_size"] == [6, 8]
    assert not raw.info.extra["normals"]
    depth, normals = load_target(raw.targets[2])
    assert normals is None and depth[0, 0] == pytest.approx(1502 / 500)
    _img(root / "train" / "images" / "orphan.png")
    with pytest.raises(BadInput, match="orphan.png.*no depth map"):
        fmt.load(root, "train", {})
    assert fmt.load(root, "train", {"skip_bad": True}).skipped == 1
    (root / "depth.json").write_text(json.dumps({"crop": "middle"}))
    with pytest.raises(BadInput, match="depth.json"):
        fmt.load(root, "val", {})


def test_kitti_annotated_and_selection(tmp_path):
    root = tmp_path / "kitti"
    drive = "2011_09_26_drive_0002_sync"
    gt = np.zeros((6, 8))
    gt[2, 3] = 256 * 12.5
    _u16(root / "val" / drive / "proj_depth" / "groundtruth" / "image_02" / "0000000005.png", gt)
    _img(root / "raw" / "2011_09_26" / drive / "image_02" / "data" / "0000000005.png")
    fmt = KittiDepthFormat()
    assert fmt.detect(root)
    raw = fmt.load(root, "val", {})
    assert len(raw.sources) == 1 and raw.info.extra["crop"] == "garg" and raw.info.extra["max_depth"] == 80
    depth, _ = load_target(raw.targets[0])
    assert depth[2, 3] == 12.5 and (depth > 0).sum() == 1
    _u16(root / "val" / drive / "proj_depth" / "groundtruth" / "image_03" / "0000000005.png", gt)
    with pytest.raises(BadInput, match="image_03.*--images"):
        fmt.load(root, "val", {})
    sel = tmp_path / "depth_selection" / "val_selection_cropped"
    _u16(sel / "groundtruth_depth" / f"{drive}_groundtruth_depth_0000000005_image_02.png", gt)
    _img(sel / "image" / f"{drive}_image_0000000005_image_02.png")
    raw = fmt.load(tmp_path, "val", {})
    assert Path(raw.sources[0]).name == f"{drive}_image_0000000005_image_02.png"


def _nyu_arrays(n=4):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (480, 640, 3, n), dtype=np.uint8)
    depths = rng.uniform(0.5, 9.5, (480, 640, n))
    depths[:5, :5, 1] = 0
    return images, depths


@pytest.mark.parametrize("version", ["7.3", "5"])
def test_nyu_labelled_mat(tmp_path, version):
    import scipy.io

    images, depths = _nyu_arrays()
    mat = tmp_path / "nyu_depth_v2_labeled.mat"
    if version == "7.3":
        h5py = pytest.importorskip("h5py")
        with h5py.File(mat, "w", userblock_size=512) as f:  # MATLAB v7.3: HDF5 with a 512-byte header, transposed
            f["images"] = images.transpose(3, 2, 1, 0)
            f["depths"] = depths.transpose(2, 1, 0)
    else:
        scipy.io.savemat(mat, {"images": images, "depths": depths})
    scipy.io.savemat(tmp_path / "splits.mat", {"trainNdxs": np.array([[1], [3], [4]]), "testNdxs": np.array([[2]])})
    fmt = NyuFormat()
    assert fmt.detect(tmp_path) and fmt.detect(mat)
    raw = fmt.load(tmp_path, "test", {})
    assert raw.sources == [f"{mat}#2"] and raw.targets == [{"nyu": str(mat), "index": 1}]
    assert raw.info.extra["crop"] == "eigen-nyu" and raw.info.extra["max_depth"] == 10
    image, depth = read_frame(mat, 1)
    np.testing.assert_array_equal(image, images[..., 1])
    np.testing.assert_allclose(depth, depths[..., 1].astype(np.float32))
    assert len(fmt.load(mat, "train", {}).sources) == 3
    (tmp_path / "splits.mat").unlink()
    with pytest.raises(CvkitError, match="splits.mat"):
        fmt.load(tmp_path, "train", {})


def test_rooms_depth_and_normals_are_exact():
    """Pixels of one planar surface (same normal) must satisfy n . p = const with p = depth * K^-1 (u, v, 1)."""
    image, depth, normals = render(0, 3)
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w]
    p = np.stack([(u + 0.5 - w / 2) / FOCAL, (v + 0.5 - h / 2) / FOCAL, np.ones((h, w))], -1) * depth[..., None]
    np.testing.assert_allclose(np.linalg.norm(normals[depth > 0], axis=-1), 1, atol=1e-6)
    floor = normals[h - 1, w // 2]
    same = (depth > 0) & (np.abs(normals - floor).max(-1) < 1e-6)
    offsets = np.sort((p[same] * floor).sum(-1))  # the floor and box tops: a few planes, each exactly flat
    clusters = np.split(offsets, np.nonzero(np.diff(offsets) > 1e-3)[0] + 1)
    assert same.sum() > 500 and len(clusters) <= 5 and max(np.ptp(c) for c in clusters) < 1e-4
    assert ((p[depth > 0] * normals[depth > 0]).sum(-1) < 0).all()  # every normal faces the camera
    again = render(0, 3)
    assert all(np.array_equal(a, b) for a, b in zip((image, depth, normals), again, strict=True))


def test_rooms_written_in_the_folder_format(tmp_path):
    spec = RoomsDataset().write(tmp_path, "depthfolder", 6, 1)
    assert spec == f"depthfolder:{tmp_path}"
    fmt = DepthFolderFormat()
    raw = fmt.load(tmp_path, "train", {})
    assert len(raw.sources) == 6 and len(fmt.load(tmp_path, "val", {}).sources) == 1
    assert raw.info.extra["normals"] and raw.info.extra["image_size"] == [96, 128]
    depth, normals = load_target(raw.targets[0])
    _, exact_depth, exact_normals = render(1, 0)
    np.testing.assert_allclose(depth, exact_depth, atol=5e-4)  # millimetre PNG
    np.testing.assert_allclose(normals, exact_normals, atol=4e-5)
