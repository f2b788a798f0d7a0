"""Image grids and PNG output (numpy and the standard library's zlib: no pillow).

The base install writes PNGs itself (a grayscale 8-bit PNG is a header, zlib-compressed rows and a
CRC per chunk), which keeps pillow's 22 MB out of it; `GridImage.to_pil()` hands a grid to pillow
where it is installed.
"""

from __future__ import annotations

import math
import numbers
import os
import struct
import zlib
from pathlib import Path
from typing import Any, BinaryIO, Optional, Union

import numpy as np

from gantool.core.errors import GantoolError

MAX_GRID_BYTES = 256 << 20  # a grid larger than this (about 16,000 x 16,000 pixels) is refused before allocating
MAX_SCALE = 16


def check_grid(n: int, h: int, w: int, nrow: int | None, scale: int = 1, padding: int = 2) -> tuple[int, int]:
    """(images per row, rows) of a grid of n h x w images, refused before anything is allocated when
    the canvas would exceed MAX_GRID_BYTES; an nrow above n is n."""
    for name, value, hi in (("nrow", nrow, None), ("scale", scale, MAX_SCALE)):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, numbers.Integral)
            or value < 1
            or (hi is not None and value > hi)
        ):
            raise GantoolError(f"{name} must be an integer in 1..{hi or 'N'}, got {value!r:.40}")
    nrow = min(int(nrow or max(1, math.ceil(math.sqrt(n)))), max(n, 1))
    rows = math.ceil(n / nrow)
    size = (rows * (h + padding) + padding) * (nrow * (w + padding) + padding) * scale * scale
    if size > MAX_GRID_BYTES:
        raise GantoolError(
            f"a grid of {n} images, {nrow} per row, at scale {scale} would take {size >> 20} MiB "
            f"(limit {MAX_GRID_BYTES >> 20} MiB); lower --n or --scale, or write one PNG each "
            "(--out DIR/)"
        )
    return nrow, rows


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def encode_png(pixels: np.ndarray, level: int = 6) -> bytes:
    """An 8-bit grayscale PNG of uint8 pixels (H, W): IHDR, one IDAT (each row with filter 0), IEND."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = pixels.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), pixels], axis=1)  # (H, 1 + W): filter byte, then the row

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)  # 8 bits, grayscale, deflate, filter 0, no interlace
    return (
        PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), level))
        + chunk(b"IEND", b"")
    )


class GridImage:
    """A grayscale uint8 image (H, W), as `Sampler.grid` returns it: `.save(path_or_file)` writes a PNG,
    `np.asarray(img)` gives the pixels, `.size` is (width, height) and `.to_pil()` a PIL image (pillow
    installed)."""

    mode = "L"

    def __init__(self, pixels: np.ndarray) -> None:
        self.pixels = np.ascontiguousarray(pixels, dtype=np.uint8)  # (H, W)

    @property
    def size(self) -> tuple[int, int]:
        return self.pixels.shape[1], self.pixels.shape[0]

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    def __array__(self, dtype: Any = None, copy: Optional[bool] = None) -> np.ndarray:
        return self.pixels if dtype is None else self.pixels.astype(dtype)

    def png(self) -> bytes:
        return encode_png(self.pixels)

    def save(self, fp: Union[str, os.PathLike, BinaryIO], format: Optional[str] = None) -> None:
        """Write a PNG to a path or a binary file object (`format`, if given, must be PNG)."""
        if format is not None and str(format).upper() != "PNG":
            raise GantoolError(f"GridImage.save writes PNG only, not {format!r}; use .to_pil() for other formats")
        if hasattr(fp, "write"):
            fp.write(self.png())
        else:
            save_png(self, fp)

    def to_pil(self):
        """The same pixels as a PIL image (needs pillow: pip install pillow)."""
        from PIL import Image

        return Image.fromarray(self.pixels, mode="L")

    def __repr__(self) -> str:
        return f"GridImage(size={self.size}, mode='L')"


def make_grid(
    images: np.ndarray, nrow: int | None = None, padding: int = 2, pad_value: int = 0, scale: int = 1
) -> GridImage:
    """Tile uint8 images (N, H, W) into one GridImage, `nrow` images per row, each pixel drawn
    `scale` x `scale` (for tiny digits on screen).

    `nrow` defaults to ceil(sqrt(N)) so a batch comes out as a square; more than N is N. The
    canvas size is checked before anything is allocated.
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]  # (N, 1, H, W) -> (N, H, W)
    if images.ndim != 3 or images.shape[0] == 0:
        raise GantoolError(f"grid needs a non-empty (N, H, W) array, got shape {images.shape}")
    if images.dtype != np.uint8:
        raise GantoolError(f"grid needs uint8 images, got {images.dtype}")
    n, h, w = images.shape
    nrow, rows = check_grid(n, h, w, nrow, scale, padding)
    canvas = np.full((rows * (h + padding) + padding, nrow * (w + padding) + padding), pad_value, dtype=np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + c * (w + padding)
        canvas[y : y + h, x : x + w] = img
    if scale > 1:
        canvas = np.kron(canvas, np.ones((scale, scale), dtype=np.uint8))
    return GridImage(canvas)


def save_png(image: Union[GridImage, np.ndarray], path: str | os.PathLike) -> Path:
    """Save a GridImage (or uint8 pixels (H, W)) as a PNG, atomically (temp file + rename)."""
    from gantool.core.fileio import atomic_path

    path = Path(path)
    if not path.parent.is_dir():
        raise GantoolError(f"output directory {str(path.parent)!r} does not exist; create it first")
    data = image.png() if isinstance(image, GridImage) else encode_png(np.asarray(image))
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    return path
