"""Image dimensions read from the file header alone (no decoding), to refuse decompression bombs cheaply.

``declared_size(data)`` understands PNG, JPEG, GIF, BMP, WebP and TIFF headers and returns ``(width, height)``, or
None for a format it does not know or a header it cannot make sense of (the decoder then reports the problem).
"""

from __future__ import annotations

import struct
from pathlib import Path

from cvkit.errors import BadInput
from cvkit.io.limits import too_large

# The image files cvkit reads (folders are searched for these); here so that torch-free code can use them.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")

# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic...); C4, C8 and CC are not frames.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def declared_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` as declared by the header of an encoded image, or None when unknown."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if data[:2] == b"\xff\xd8":
            return _jpeg(data)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            return struct.unpack("<HH", data[6:10])
        if data[:2] == b"BM":
            return _bmp(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp(data)
        if data[:4] in (b"II*\0", b"MM\0*"):
            return _tiff(data)
    except (struct.error, IndexError):
        return None
    return None


def check_pixels(path: str | Path, data: bytes) -> None:
    """Raise BadInput naming ``path`` when the header declares more pixels than the limit (cvkit.io.limits)."""
    size = declared_size(data)
    if size is not None:
        reason = too_large(*size)
        if reason:
            raise BadInput(path, f"refused before decoding: {reason}")


def check_image_file(path: str | Path, head: int = 1 << 20) -> None:
    """:func:`check_pixels` for a file another decoder will read (Pillow, OpenCV): only its first ``head`` bytes
    are read (enough for the frame header after large EXIF/ICC segments)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(head)
    except OSError:
        return  # the decoder reports the missing or unreadable file in its own words
    check_pixels(path, data)


def _jpeg(data: bytes) -> tuple[int, int] | None:
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # stand-alone markers
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header before the data
            return None
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return (width, height) if height else None  # height 0: defined later by a DNL marker
        i += 2 + length
    return None


def _bmp(data: bytes) -> tuple[int, int] | None:
    (header,) = struct.unpack("<I", data[14:18])
    if header == 12:  # OS/2 BITMAPCOREHEADER
        return struct.unpack("<HH", data[18:22])
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)  # a negative height means top-down rows


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    return None


def _tiff(data: bytes) -> tuple[int, int] | None:
    order = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[offset:offset + 2])
    found: dict[int, int] = {}
    for k in range(count):
        entry = data[offset + 2 + 12 * k:offset + 14 + 12 * k]
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag in (256, 257):
            if kind == 3:  # SHORT
                (found[tag],) = struct.unpack(order + "H", entry[8:10])
            elif kind == 4:  # LONG
                (found[tag],) = struct.unpack(order + "I", entry[8:12])
    if 256 in found and 257 in found:
        return found[256], found[257]
    return None


def read_image_bytes(path: str | Path) -> bytes:
    """The bytes of an image file (or of a sample inside a tar shard), refused with a one-line error naming the file
    when it is missing, a folder, unreadable, empty, or declares more pixels than the limit. Every decoder of cvkit,
    with torch or without, reads through this."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except NotADirectoryError:  # DIR/<shard>.tar/KEY/<name>: a sample inside a tar shard (cvkit.shards)
        from cvkit.shards.reader import read_member

        data = read_member(path)
        if data is None:
            raise BadInput(path, "no such file") from None
    except FileNotFoundError:
        raise BadInput(path, "no such file") from None
    except IsADirectoryError:
        raise BadInput(path, "is a directory, not an image") from None
    except OSError as exc:
        raise BadInput(path, f"cannot read: {exc.strerror or exc}") from None
    if not data:
        raise BadInput(path, "empty file (0 bytes)")
    check_pixels(path, data)  # decompression bombs: refuse from the header, before the decoder allocates
    return data

