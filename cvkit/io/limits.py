"""Limits on what an input may declare before anything is allocated for it (decompression bombs, absurd sizes).

``max_pixels()`` is the largest image (width x height) cvkit decodes or allocates a label map for. The default
follows Pillow's ``MAX_IMAGE_PIXELS`` (about 179 megapixels); ``CVKIT_MAX_PIXELS`` (or ``--max-pixels``, which sets
it) changes it, and 0 disables the check.
"""

from __future__ import annotations

import os

DEFAULT_MAX_PIXELS = 178_956_970  # Pillow's limit: 1024 * 1024 * 1024 // 4 // 3
ENV = "CVKIT_MAX_PIXELS"


def max_pixels() -> int:
    """The pixel limit in force (0: none)."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(raw))
    except ValueError:
        return DEFAULT_MAX_PIXELS
    return max(value, 0)


def set_max_pixels(value: int) -> None:
    """Set the limit for this process and the workers it starts (``--max-pixels``)."""
    os.environ[ENV] = str(int(value))


def too_large(width: float, height: float) -> str | None:
    """A reason when a declared ``width x height`` exceeds the limit, else None."""
    limit = max_pixels()
    if limit and width * height > limit:
        return (f"declared size {width:g}x{height:g} ({width * height / 1e6:.0f} MP) exceeds the pixel limit of "
                f"{limit / 1e6:.0f} MP (raise it with --max-pixels or {ENV})")
    return None
