"""Rendering of the ``motion`` clips: one moving polygon whose class is carried only by its motion.

Eight classes in four time-reversed pairs: move left / right, move up / down, grow / shrink, rotate clockwise /
anticlockwise. Playing a clip of one class backwards gives exactly a clip of its partner. Everything else is
drawn independently of the class: background (a random two-colour gradient), the polygon's shape, colour, size
and angle, its position, the speed, and 0-2 static distractor shapes. Static classes are placed with the same
spread of positions and sizes that moving and growing objects cover, so that no single frame says which class
a clip belongs to: only the change between frames does.
"""

from __future__ import annotations

import cv2
import numpy as np

CLASSES = ("move left", "move right", "move up", "move down", "grow", "shrink", "rotate clockwise",
           "rotate anticlockwise")
REVERSE_PAIRS = (("move left", "move right"), ("move up", "move down"), ("grow", "shrink"),
                 ("rotate clockwise", "rotate anticlockwise"))
MIRROR_PAIRS = (("move left", "move right"), ("rotate clockwise", "rotate anticlockwise"))
FRAMES = 16
SIZE = 64
SHIFT = 4  # sub-pixel drawing: coordinates in 1/16 pixel


def _colour(rng: np.random.Generator, away_from: np.ndarray | None = None) -> np.ndarray:
    for _ in range(100):
        c = rng.integers(0, 256, 3)
        if away_from is None or np.abs(c - away_from).sum() > 180:
            return c
    return 255 - away_from if away_from is not None else c


def _polygon(rng: np.random.Generator) -> np.ndarray:
    """An irregular polygon (3-5 vertices) of unit radius, so that rotation is visible."""
    k = int(rng.integers(3, 6))
    angles = np.linspace(0, 2 * np.pi, k, endpoint=False) + rng.uniform(-0.4, 0.4, k) + rng.uniform(0, 2 * np.pi)
    radii = rng.uniform(0.55, 1.0, k)
    return np.stack([np.cos(angles) * radii, np.sin(angles) * radii], 1)


def _fill(img: np.ndarray, pts: np.ndarray, colour: np.ndarray) -> None:
    cv2.fillPoly(img, [np.round(pts * (1 << SHIFT)).astype(np.int32)], tuple(int(c) for c in colour),
                 cv2.LINE_AA, SHIFT)


def render(rng: np.random.Generator, label: int, frames: int = FRAMES, size: int = SIZE) -> list[np.ndarray]:
    """The frames (BGR uint8, for cv2.VideoWriter) of one clip of class ``label``."""
    pair, direction = divmod(label, 2)
    sign = -1.0 if direction == 0 else 1.0  # -1: left, up, grow, clockwise; +1: their partners
    scale = size / 64.0
    bg0 = rng.integers(0, 256, 3)
    bg1 = np.clip(bg0 + rng.integers(-60, 61, 3), 0, 255)
    theta = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size] / size
    ramp = (np.cos(theta) * xx + np.sin(theta) * yy)[..., None]
    ramp = (ramp - ramp.min()) / max(1e-6, np.ptp(ramp))
    background = (bg0 * (1 - ramp) + bg1 * ramp).astype(np.uint8)
    for _ in range(int(rng.integers(0, 3))):
        pts = _polygon(rng) * rng.uniform(3, 7) * scale + rng.uniform(6, 58, 2) * scale
        _fill(background, pts, _colour(rng))
    colour = _colour(rng, away_from=(bg0.astype(int) + bg1) // 2)
    shape = _polygon(rng)
    centre = rng.uniform(22, 42, 2) * scale
    radius = rng.uniform(7, 11) * scale
    angle = rng.uniform(0, 2 * np.pi)
    speed = rng.uniform(1.2, 2.0) * scale  # pixels per frame
    growth = rng.uniform(0.035, 0.055)  # log-radius per frame
    spin = np.deg2rad(rng.uniform(6, 10))  # radians per frame
    # static attributes take a value that the moving classes also pass through at some frame
    offset = rng.uniform(-(frames - 1) / 2, (frames - 1) / 2)
    if pair >= 2:
        axis = rng.integers(0, 2)
        centre[axis] += rng.choice([-1, 1]) * speed * offset
    if pair != 2:
        radius *= np.exp(rng.choice([-1, 1]) * growth * rng.uniform(-(frames - 1) / 2, (frames - 1) / 2))
    out = []
    for t in range(frames):
        tau = t - (frames - 1) / 2
        c, r, a = centre.copy(), radius, angle
        if pair == 0:
            c[0] += sign * speed * tau
        elif pair == 1:
            c[1] += sign * speed * tau
        elif pair == 2:
            r = radius * np.exp(-sign * growth * tau)
        else:
            a = angle - sign * spin * tau  # image y points down: a growing angle turns clockwise on screen
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        img = background.copy()
        _fill(img, shape @ rot.T * r + c, colour)
        out.append(img)
    return out
