"""Decoding image files (JPEG, PNG, ...) into NDArrays, as MXNet's ``mx.image.imread`` and
``imdecode``, with Pillow (the optional ``vision`` extra: ``pip install 'framework[vision]'``).

An image is an NDArray of shape (H, W, C), uint8, on cpu(0): C is 3 (RGB) for
``flag=1`` and 1 (grey, ITU-R 601 luma) for ``flag=0``.
"""
from __future__ import annotations

import io
import os
from typing import Union

import numpy

from ...context import cpu
from ...ndarray import NDArray

__all__ = ["imread", "imdecode", "decode_to_numpy", "require_pillow"]


def require_pillow(where: str):
    """The ``PIL.Image`` module, or an ImportError that says how to install it."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f"{where}: decoding images needs Pillow, which is not installed; "
                          f"install it with: pip install 'framework[vision]' "
                          f"(or: pip install pillow)") from None
    return Image


def _check_flag(flag, where: str) -> None:
    if flag not in (0, 1) or isinstance(flag, bool):
        raise ValueError(f"{where}: flag must be 0 (grey, 1 channel) or 1 (colour, 3 channels), "
                         f"got {flag!r}")


def decode_to_numpy(source, flag: int = 1, where: str = "imdecode",
                    name: str = "the image") -> numpy.ndarray:
    """Decode ``source`` (a file path or a binary file object) to a NumPy uint8 array of
    shape (H, W, 3) for ``flag=1`` or (H, W, 1) for ``flag=0``; ValueError naming ``name``
    if it is not a readable image."""
    _check_flag(flag, where)
    Image = require_pillow(where)
    try:
        with Image.open(source) as img:
            img = img.convert("RGB" if flag == 1 else "L")
            pixels = numpy.asarray(img, dtype=numpy.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise ValueError(f"{where}: cannot decode {name} as an image: {err}") from None
    return pixels if flag == 1 else pixels[:, :, None]


def imdecode(buf: Union[bytes, bytearray, memoryview], flag: int = 1,
             to_rgb: bool = True) -> NDArray:
    """Decode an encoded image (the bytes of a JPEG, PNG, ... file) to an NDArray (H, W, C)
    uint8: RGB for ``flag=1`` (BGR with ``to_rgb=False``, as OpenCV), grey for ``flag=0``."""
    if not isinstance(buf, (bytes, bytearray, memoryview)):
        raise TypeError(f"imdecode: buf must be bytes, got {type(buf).__name__}")
    pixels = decode_to_numpy(io.BytesIO(bytes(buf)), flag, "imdecode",
                             f"a buffer of {len(buf)} bytes")
    if flag == 1 and not to_rgb:
        pixels = numpy.ascontiguousarray(pixels[:, :, ::-1])
    return NDArray(pixels, cpu(0))


def imread(filename: Union[str, os.PathLike], flag: int = 1, to_rgb: bool = True) -> NDArray:
    """Read an image file to an NDArray (H, W, C) uint8 (see ``imdecode``)."""
    path = os.fspath(filename)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"imread: no file at {path}")
    pixels = decode_to_numpy(path, flag, "imread", path)
    if flag == 1 and not to_rgb:
        pixels = numpy.ascontiguousarray(pixels[:, :, ::-1])
    return NDArray(pixels, cpu(0))
