"""Ray-cast rooms: a floor, a ceiling, a back wall 5-8 m away (sometimes with a window onto nothing: no ground
truth there) and side walls, with 1-4 boxes (turned about the vertical) or spheres standing on the floor, seen by a
pinhole camera with a random pitch and yaw. Every pixel's ray is intersected with every surface exactly, so the
z-depth and the camera-frame normal are exact; the image is Lambertian (one directional light plus ambient) with
plain, checkered or striped textures. One scene depends on (seed, index) alone.

Camera frame: x right, y down, z forward (OpenCV); normals point towards the camera.
"""

from __future__ import annotations

import numpy as np

HEIGHT, WIDTH = 96, 128
FOCAL = 0.8 * WIDTH


def _rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


class _Hits:
    """Nearest hit so far per ray: distance t (= z-depth), world normal, albedo and texture kind."""

    def __init__(self, n: int) -> None:
        self.t = np.full(n, np.inf)
        self.normal = np.zeros((n, 3))
        self.albedo = np.zeros((n, 3))
        self.texture = np.zeros(n, np.int64)  # 0 plain, 1 checkered, 2 striped
        self.scale = np.ones(n)

    def offer(self, t: np.ndarray, normal: np.ndarray, albedo: np.ndarray, texture: int, scale: float) -> None:
        better = np.isfinite(t) & (t > 1e-6) & (t < self.t)
        self.t[better] = t[better]
        self.normal[better] = normal[better] if normal.ndim == 2 else normal
        self.albedo[better] = albedo
        self.texture[better] = texture
        self.scale[better] = scale


def _plane(d: np.ndarray, axis: int, value: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        t = value / d[:, axis]
    return np.where(t > 0, t, np.inf)


def _box(d: np.ndarray, centre: np.ndarray, half: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    rot = _rot_y(angle)
    db = d @ rot  # world -> box frame: R^T d, row-wise
    ob = -centre @ rot
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (-half - ob) / db
        t2 = (half - ob) / db
    tmin, tmax = np.minimum(t1, t2), np.maximum(t1, t2)
    tmin = np.nan_to_num(tmin, nan=-np.inf)
    tmax = np.nan_to_num(tmax, nan=np.inf)
    near, far = tmin.max(1), tmax.min(1)
    axis = tmin.argmax(1)
    hit = (near <= far) & (near > 0)
    nb = np.zeros_like(d)
    rows = np.arange(len(d))
    nb[rows, axis] = -np.sign(db[rows, axis])
    return np.where(hit, near, np.inf), nb @ rot.T


def _sphere(d: np.ndarray, centre: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    a = (d * d).sum(1)
    b = -2 * d @ centre
    c = centre @ centre - radius**2
    disc = b * b - 4 * a * c
    with np.errstate(invalid="ignore"):
        t = (-b - np.sqrt(disc)) / (2 * a)
    t = np.where((disc >= 0) & (t > 0), t, np.inf)
    p = d * np.where(np.isfinite(t), t, 0)[:, None]
    return t, (p - centre) / radius


def _colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0.25, 1.0, 3)


def render(seed: int, index: int, height: int = HEIGHT, width: int = WIDTH
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(image uint8 HxWx3 RGB, depth float32 HxW metres with 0 = none, normals float32 HxWx3 with 0 = none)``."""
    rng = np.random.default_rng([seed, index, 22])
    focal = FOCAL * width / WIDTH
    v, u = np.mgrid[0:height, 0:width]
    dc = np.stack([(u + 0.5 - width / 2) / focal, (v + 0.5 - height / 2) / focal, np.ones_like(u, float)], -1)
    dc = dc.reshape(-1, 3)
    cam = _rot_y(rng.uniform(-0.25, 0.25)) @ _rot_x(rng.uniform(-0.3, 0.05))  # yaw, pitch (negative: look down)
    d = dc @ cam.T
    hits = _Hits(len(d))
    cam_h = rng.uniform(1.2, 1.7)
    room_h = rng.uniform(2.6, 3.2)
    back = rng.uniform(5.0, 8.0)
    left, right = -rng.uniform(2.5, 4.0), rng.uniform(2.5, 4.0)
    surfaces = [(1, cam_h, (0, -1, 0)), (1, cam_h - room_h, (0, 1, 0)), (2, back, (0, 0, -1)),
                (0, left, (1, 0, 0)), (0, right, (-1, 0, 0)), (2, -1.0, (0, 0, 1))]
    lo = np.array([left, cam_h - room_h, -1.0]) - 1e-6
    hi = np.array([right, cam_h, back]) + 1e-6
    for k, (axis, value, normal) in enumerate(surfaces):
        t = _plane(d, axis, value)
        p = d * np.where(np.isfinite(t), t, 0)[:, None]
        t = np.where(((p >= lo) & (p <= hi)).all(1), t, np.inf)  # the planes end at the room's corners
        if k == 2 and rng.random() < 0.5:  # a window in the back wall: nothing behind it, no ground truth
            wx0 = rng.uniform(left + 0.3, right - 1.5)
            wy0 = rng.uniform(cam_h - room_h + 0.3, cam_h - 1.4)
            inside = (p[:, 0] > wx0) & (p[:, 0] < wx0 + rng.uniform(0.8, 1.6)) & (p[:, 1] > wy0) & \
                (p[:, 1] < wy0 + rng.uniform(0.6, 1.1))
            t = np.where(inside, np.inf, t)
        hits.offer(t, np.array(normal, float), _colour(rng), int(rng.integers(3)), rng.uniform(0.3, 0.8))
    for _ in range(int(rng.integers(1, 5))):
        x, z = rng.uniform(left + 0.6, right - 0.6), rng.uniform(2.0, back - 1.0)
        if rng.random() < 0.5:
            half = rng.uniform(0.2, 0.75, 3)
            t, n = _box(d, np.array([x, cam_h - half[1], z]), half, rng.uniform(0, np.pi / 2))
        else:
            r = rng.uniform(0.3, 0.8)
            t, n = _sphere(d, np.array([x, cam_h - r, z]), r)
        hits.offer(t, n, _colour(rng), int(rng.integers(3)), rng.uniform(0.1, 0.3))
    valid = np.isfinite(hits.t)
    p = d * np.where(valid, hits.t, 0)[:, None]
    cell = np.floor(p / hits.scale[:, None]).astype(np.int64)
    pattern = np.where(hits.texture == 1, (cell.sum(1) % 2) * 0.45 + 0.55,
                       np.where(hits.texture == 2, (cell[:, 1] % 2) * 0.4 + 0.6, 1.0))
    light = np.array([rng.uniform(-0.5, 0.5), -1.0, rng.uniform(-0.8, 0.2)])
    light /= np.linalg.norm(light)
    shade = 0.35 + 0.65 * np.clip(-(hits.normal @ light), 0, 1)
    rgb = hits.albedo * (pattern * shade)[:, None]
    rgb[~valid] = np.array([0.75, 0.85, 1.0])  # what the window shows
    normals = hits.normal @ cam  # world -> camera frame: R^T n, row-wise
    facing = (normals * dc).sum(1) > 0
    normals[facing] *= -1
    normals[~valid] = 0
    depth = np.where(valid, hits.t, 0)
    image = np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8).reshape(height, width, 3)
    return image, depth.reshape(height, width).astype(np.float32), normals.reshape(height, width, 3).astype(np.float32)
