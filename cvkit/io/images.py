"""Image decoding with one-line errors that name the file; sizes over the pixel limit are refused unread."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import torch
from torchvision.io import ImageReadMode, decode_image

from cvkit.errors import BadInput
from cvkit.io.imagesize import IMAGE_EXTENSIONS, read_image_bytes

# torchvision 0.29 marks its decoders deprecated in favour of TorchCodec; they remain the fastest exact decoders
# we have (libjpeg-turbo, libpng) and the only ones that report truncated JPEGs as errors rather than warnings.
warnings.filterwarnings("ignore", message="The image decoding and encoding capabilities of TorchVision",
                        category=DeprecationWarning)


def is_image(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def read_image(path: str | Path) -> torch.Tensor:
    """Decode an image file to a uint8 RGB tensor of shape (3, H, W); BadInput names the file on failure."""
    path = Path(path)
    data = read_image_bytes(path)
    if path.suffix.lower() in (".bmp", ".tif", ".tiff"):
        return _read_with_opencv(path, data)
    try:
        img = decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.RGB)
    except Exception as exc:  # torchvision raises RuntimeError with library-specific text
        raise BadInput(path, f"not a readable image ({_short(exc)})") from None
    return img


def _read_with_opencv(path: Path, data: bytes) -> torch.Tensor:
    import cv2
    import numpy as np

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if arr is None:
        raise BadInput(path, "not a readable image")
    return torch.from_numpy(cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)).permute(2, 0, 1).contiguous()


def _short(exc: Exception) -> str:
    """The library's message without its source-file location prefix."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    first = re.sub(r"^.*?\.(?:cpp|c|h):\d+,\s*", "", first)
    if first.startswith("Unsupported image file"):
        return "unrecognised file signature"
    return first[:120]
