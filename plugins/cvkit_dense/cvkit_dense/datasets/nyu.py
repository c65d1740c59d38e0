"""``nyu``: NYU Depth v2's labelled set, ``nyu_depth_v2_labeled.mat`` (1,449 RGB-D frames, 480x640) with the
standard split file ``splits.mat`` (``trainNdxs``: 795, ``testNdxs``: 654, 1-based) beside it. ``--data`` is the
``.mat`` file or its folder; ``val`` and ``test`` both read ``testNdxs``.

The released file is MATLAB v7.3, i.e. HDF5, read with h5py (arrays come transposed: ``images`` N x 3 x 640 x 480,
``depths`` N x 640 x 480); a file saved in an older MATLAB format is read with scipy.io (``images`` 480 x 640 x 3 x
N). h5py is an optional dependency (``pip install h5py``), imported only here. Samples are named
``<mat path>#<1-based frame number>``. Evaluation defaults: Eigen's crop, depths capped at 10 m.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.errors import BadInput, CvkitError

MAT = "nyu_depth_v2_labeled.mat"
EXTRA = {"crop": "eigen-nyu", "max_depth": 10.0, "normals": False, "image_size": [480, 640]}
_OPEN: dict[str, Any] = {}  # per process: path -> (kind, handle)


def _is_hdf5(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(8) == b"\x89HDF\r\n\x1a\n" or (fh.seek(512) == 512 and fh.read(8) == b"\x89HDF\r\n\x1a\n")


def _open(path: Path) -> tuple[str, Any]:
    key = str(path)
    if key not in _OPEN:
        try:
            if _is_hdf5(path):
                try:
                    import h5py
                except ImportError:
                    raise CvkitError(f"{path}: a MATLAB v7.3 (HDF5) file needs h5py: pip install h5py") from None
                _OPEN[key] = ("h5", h5py.File(path, "r"))
            else:
                import scipy.io

                _OPEN[key] = ("mat", scipy.io.loadmat(path, variable_names=["images", "depths"]))
        except OSError as exc:
            raise BadInput(path, f"cannot read: {exc}") from None
        except (ValueError, NotImplementedError) as exc:
            raise BadInput(path, f"not a readable MATLAB file ({exc})") from None
        kind, handle = _OPEN[key]
        if "images" not in handle or "depths" not in handle:
            del _OPEN[key]
            raise BadInput(path, "no 'images' and 'depths' arrays (not NYU Depth v2's labelled set)")
    return _OPEN[key]


def frame_count(path: Path) -> int:
    kind, f = _open(path)
    return int(f["depths"].shape[0] if kind == "h5" else f["depths"].shape[-1])


def read_frame(path: Path, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame ``index`` (0-based): ``(RGB uint8 480x640x3, depth float32 480x640 metres)``."""
    kind, f = _open(Path(path))
    n = frame_count(Path(path))
    if not 0 <= index < n:
        raise BadInput(path, f"frame {index + 1} out of range (the file has {n})")
    if kind == "h5":
        image = np.asarray(f["images"][index]).transpose(2, 1, 0)
        depth = np.asarray(f["depths"][index]).T
    else:
        image, depth = f["images"][..., index], f["depths"][..., index]
    depth = np.where(np.isfinite(depth) & (depth > 0), depth, 0)
    return np.ascontiguousarray(image, dtype=np.uint8), np.ascontiguousarray(depth, dtype=np.float32)


def split_indices(splits: Path, split: str) -> list[int]:
    """0-based frame indices of ``split`` from ``splits.mat``."""
    import scipy.io

    key = "trainNdxs" if split == "train" else "testNdxs"
    try:
        doc = scipy.io.loadmat(splits)
    except (OSError, ValueError) as exc:
        raise BadInput(splits, f"not a readable MATLAB file ({exc})") from None
    if key not in doc:
        raise BadInput(splits, f"no {key} array")
    return [int(v) - 1 for v in np.asarray(doc[key]).ravel()]


def parse_source(source: str) -> tuple[Path, int] | None:
    """``(mat path, 0-based index)`` of a ``<mat>#<n>`` sample name, else None."""
    head, sep, tail = source.rpartition("#")
    if sep and tail.isdigit() and head.lower().endswith(".mat"):
        return Path(head), int(tail) - 1
    return None


class NyuFormat(DatasetFormat):
    name = "nyu"
    description = "NYU Depth v2 labelled .mat (v7.3/HDF5 via h5py, older via scipy) + splits.mat"

    def detect(self, path: Path) -> bool:
        path = Path(path)
        return path.suffix.lower() == ".mat" or (path / MAT).is_file()

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        mat = Path(path) / MAT if Path(path).is_dir() else Path(path)
        if not mat.is_file():
            raise CvkitError(f"{path}: no {MAT}")
        splits = mat.parent / "splits.mat"
        if split not in ("train", "val", "test"):
            raise CvkitError(f"{mat}: NYU Depth v2 has train and test splits, not {split!r}")
        if not splits.is_file():
            raise CvkitError(f"{mat}: the standard split file splits.mat is not beside it ({splits})")
        n = frame_count(mat)
        indices = split_indices(splits, split)
        bad = [i + 1 for i in indices if not 0 <= i < n]
        if bad:
            raise BadInput(splits, f"frame numbers {bad[:3]} out of range 1..{n}")
        sources = [f"{mat}#{i + 1}" for i in indices]
        targets = [{"nyu": str(mat), "index": i} for i in indices]
        info = DatasetInfo("nyu_depth_v2", self.name, f"{self.name}:{mat}", split, [], dict(EXTRA))
        return RawSplit(info, sources, targets, [mat, splits])
