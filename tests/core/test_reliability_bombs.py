"""Defect 3: decompression bombs are refused from the header, before anything is decoded or allocated."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cvkit.errors import BadInput
from cvkit.io.images import read_image
from cvkit.io.imagesize import declared_size
from tests.conftest import cvkit


def _encode(fmt: str, w: int, h: int, **kw: object) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize(("fmt", "kw"), [
    ("PNG", {}), ("JPEG", {}), ("JPEG", {"progressive": True}), ("GIF", {}), ("BMP", {}), ("TIFF", {}),
    ("TIFF", {"compression": "tiff_deflate"}), ("WEBP", {"lossless": True}), ("WEBP", {"quality": 50}),
])
def test_header_sizes_match_the_decoded_sizes(fmt: str, kw: dict[str, object]) -> None:
    assert declared_size(_encode(fmt, 37, 23, **kw)) == (37, 23)


def test_unknown_or_truncated_headers_give_none() -> None:
    assert declared_size(b"") is None
    assert declared_size(b"\xff\xd8\xff") is None
    assert declared_size(b"not an image at all") is None
    assert declared_size(_encode("PNG", 3, 3)[:20]) is None


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height but holds a few bytes of pixel data (a bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_read_image_refuses_more_pixels_than_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = tmp_path / "small.png"
    small.write_bytes(_encode("PNG", 40, 40))
    monkeypatch.setenv("CVKIT_MAX_PIXELS", "1000")
    with pytest.raises(BadInput, match=r"small\.png: refused before decoding: declared size 40x40"):
        read_image(small)
    bmp = tmp_path / "small.bmp"
    bmp.write_bytes(_encode("BMP", 40, 40))
    with pytest.raises(BadInput, match=r"small\.bmp: refused"):
        read_image(bmp)
    monkeypatch.setenv("CVKIT_MAX_PIXELS", "0")  # 0 turns the check off
    assert tuple(read_image(small).shape) == (3, 40, 40)


def test_a_40000_square_png_is_refused_at_the_default_limit_without_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header(40000, 40000))
    start = time.perf_counter()
    with pytest.raises(BadInput, match=r"bomb\.png: refused before decoding: declared size 40000x40000 "
                                        r"\(1600 MP\) exceeds the pixel limit of 179 MP"):
        read_image(bomb)
    assert time.perf_counter() - start < 1.0


def test_predict_max_pixels_gives_one_error_line_naming_the_file(digits_run: Path, tmp_path: Path) -> None:
    img = tmp_path / "big.png"
    img.write_bytes(_encode("PNG", 40, 40))
    proc = cvkit("--max-pixels", "1000", "predict", "--weights", str(digits_run / "best.pt"), str(img))
    assert proc.returncode == 1
    assert "big.png: refused before decoding: declared size 40x40" in proc.stdout  # the error record
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr


def test_check_image_file_reads_only_the_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cvkit.io.imagesize import check_image_file

    bomb = tmp_path / "label.png"
    bomb.write_bytes(_png_header(40000, 40000))
    with pytest.raises(BadInput, match=r"label\.png: refused before decoding"):
        check_image_file(bomb)
    monkeypatch.setenv("CVKIT_MAX_PIXELS", "0")
    check_image_file(bomb)  # no limit: nothing raised
    check_image_file(tmp_path / "missing.png")  # left to the decoder
