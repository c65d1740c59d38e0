"""MPII's MATLAB files: the original release ``mpii_human_pose_v1_u12_1.mat`` and the evaluation ``gt_valid.mat``.

The release is a struct ``RELEASE`` with ``annolist(i).image.name``, ``annolist(i).annorect(r)`` (head box
``x1, y1, x2, y2``, ``scale``, ``objpos.{x, y}``, ``annopoints.point(j).{x, y, id, is_visible}``) and
``img_train(i)``. Real files are irregular: a person may lack any of these fields or hold ``[]`` in it, a struct
array of one element is a plain struct, and ``is_visible`` is a number, a string or empty. Everything is read
as floats in the file's 1-based coordinates; the loader converts.

``gt_valid.mat`` (HRNet; mmpose's ``mpii_gt_val.mat``) holds, for the N people of the validation JSON in order,
``dataset_joints`` (1x16 cell of names), ``jnt_missing`` (16xN), ``pos_gt_src`` (16x2xN) and ``headboxes_src``
(2x2xN: ``[corner, xy, person]``, corner 0 the top-left).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cvkit.errors import BadInput
from cvkit_pose.skeleton import MPII_MAT_NAMES

RELEASE_NAME = "mpii_human_pose_v1_u12_1.mat"


def _load(path: Path, **kw: Any) -> dict[str, Any]:
    from scipy.io import loadmat

    try:
        return loadmat(str(path), **kw)
    except FileNotFoundError:
        raise BadInput(path, "file not found") from None
    except Exception as exc:  # scipy raises ValueError/TypeError/MatReadError with its own wording
        raise BadInput(path, f"not a readable MATLAB file ({type(exc).__name__}: {exc})") from None


def _items(value: Any) -> list[Any]:
    """A struct array (or one struct, or ``[]``) as a list of structs."""
    if value is None:
        return []
    if isinstance(value, np.ndarray):
        return [v for v in value.ravel() if not _empty(v)]
    return [value]


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, np.ndarray) and value.size == 0)


def _field(obj: Any, name: str) -> Any:
    """A struct field, or None when absent or ``[]``."""
    if name not in getattr(obj, "_fieldnames", ()):
        return None
    value = getattr(obj, name)
    return None if _empty(value) else value


def _number(value: Any) -> float | None:
    if _empty(value):
        return None
    if isinstance(value, np.ndarray):
        value = value.ravel()[0]
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def read_release(path: Path) -> list[dict[str, Any]]:
    """Images of the release: ``{"name", "train" (img_train), "people": [{"objpos", "scale", "head", "joints"}]}``.

    ``objpos`` is ``(x, y)`` or None, ``scale`` a float or None, ``head`` ``(x1, y1, x2, y2)`` or None, ``joints``
    ``{id: (x, y)}`` (possibly empty); all 1-based, as in the file."""
    mat = _load(path, struct_as_record=False, squeeze_me=True)
    if "RELEASE" not in mat:
        raise BadInput(path, "no RELEASE struct (is this mpii_human_pose_v1_u12_1.mat?)", where="RELEASE")
    rel = mat["RELEASE"]
    annolist = _field(rel, "annolist")
    if annolist is None:
        raise BadInput(path, "missing field", where="RELEASE.annolist")
    entries = list(np.atleast_1d(annolist).ravel())
    train = _field(rel, "img_train")
    train = np.atleast_1d(np.asarray(train if train is not None else np.ones(len(entries)))).ravel()
    if len(train) != len(entries):
        raise BadInput(path, f"{len(train)} flags for {len(entries)} images", where="RELEASE.img_train")
    images = []
    for i, a in enumerate(entries):
        where = f"RELEASE.annolist({i + 1})"
        image = _field(a, "image")
        name = _field(image, "name") if image is not None else None
        if not isinstance(name, str):
            raise BadInput(path, "missing image name", where=f"{where}.image.name")
        people = [_person(r, path, f"{where}.annorect({k + 1})") for k, r in enumerate(_items(_field(a, "annorect")))]
        images.append({"name": name, "train": bool(train[i]), "people": people})
    return images


def _person(r: Any, path: Path, where: str) -> dict[str, Any]:
    head = [_number(_field(r, k)) for k in ("x1", "y1", "x2", "y2")]
    objpos = _field(r, "objpos")
    pos = None
    if objpos is not None:
        x, y = _number(_field(objpos, "x")), _number(_field(objpos, "y"))
        pos = (x, y) if x is not None and y is not None else None
    joints: dict[int, tuple[float, float]] = {}
    annopoints = _field(r, "annopoints")
    for j, p in enumerate(_items(_field(annopoints, "point") if annopoints is not None else None)):
        jid, x, y = _number(_field(p, "id")), _number(_field(p, "x")), _number(_field(p, "y"))
        if jid is None or x is None or y is None:
            raise BadInput(path, "point needs id, x and y", where=f"{where}.annopoints.point({j + 1})")
        if not 0 <= jid < 16:
            raise BadInput(path, f"joint id {jid:g} is not in 0..15", where=f"{where}.annopoints.point({j + 1}).id")
        joints[int(jid)] = (x, y)
    return {"objpos": pos, "scale": _number(_field(r, "scale")),
            "head": tuple(head) if all(v is not None for v in head) else None, "joints": joints}


def read_head_boxes(path: Path, count: int) -> np.ndarray:
    """Head boxes ``(N, 4)`` ``[x1, y1, x2, y2]`` (1-based, as in the file) from ``gt_valid.mat``, checked against the
    number of people ``count`` of the JSON they belong to."""
    mat = _load(path)
    if "headboxes_src" not in mat:
        raise BadInput(path, "missing field", where="headboxes_src")
    hb = np.asarray(mat["headboxes_src"], np.float64)
    if hb.ndim == 2 and count == 1:
        hb = hb[..., None]
    if hb.ndim != 3 or hb.shape[:2] != (2, 2):
        raise BadInput(path, f"expected a 2x2xN array, not {'x'.join(map(str, hb.shape))}", where="headboxes_src")
    if hb.shape[2] != count:
        raise BadInput(path, f"holds {hb.shape[2]} people but the validation JSON has {count}",
                       where="headboxes_src")
    return np.concatenate([hb[0].T, hb[1].T], 1)


def write_gt_mat(path: Path, joints: np.ndarray, visible: np.ndarray, heads: np.ndarray) -> None:
    """Write ``gt_valid.mat`` for ``N`` people: ``joints`` ``(N, 16, 2)``, ``visible`` ``(N, 16)`` and ``heads``
    ``(N, 4)``, all 1-based (MATLAB) coordinates, in the layout HRNet's evaluation reads."""
    from scipy.io import savemat

    names = np.empty((1, len(MPII_MAT_NAMES)), dtype=object)
    for i, n in enumerate(MPII_MAT_NAMES):
        names[0, i] = n
    heads = np.asarray(heads, np.float64).reshape(-1, 4)
    savemat(str(path), {
        "dataset_joints": names,
        "jnt_missing": (np.asarray(visible) <= 0).T.astype(np.float64),
        "pos_gt_src": np.transpose(np.asarray(joints, np.float64), (1, 2, 0)),
        "headboxes_src": np.stack([heads[:, :2].T, heads[:, 2:].T]),
    })
