"""Image grids and PNG output (numpy + pillow only)."""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path

import numpy as np

from gantool.core.errors import GantoolError

MAX_GRID_BYTES = 256 << 20  # a grid larger than this (about 16,000 x 16,000 pixels) is refused before allocating
MAX_SCALE = 16


def check_grid(n: int, h: int, w: int, nrow: int | None, scale: int = 1, padding: int = 2) -> tuple[int, int]:
    """(images per row, rows) of a grid of n h x w images, refused before anything is allocated when
    the canvas would exceed MAX_GRID_BYTES; an nrow above n is n."""
    for name, value, hi in (("nrow", nrow, None), ("scale", scale, MAX_SCALE)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1
                                  or (hi is not None and value > hi)):
            raise GantoolError(f"{name} must be an integer in 1..{hi or 'N'}, got {value!r:.40}")
    nrow = min(int(nrow or max(1, math.ceil(math.sqrt(n)))), max(n, 1))
    rows = math.ceil(n / nrow)
    size = (rows * (h + padding) + padding) * (nrow * (w + padding) + padding) * scale * scale
    if size > MAX_GRID_BYTES:
        raise GantoolError(f"a grid of {n} images, {nrow} per row, at scale {scale} would take {size >> 20} MiB "
                           f"(limit {MAX_GRID_BYTES >> 20} MiB); lower --n or --scale, or write one PNG each "
                           "(--out DIR/)")
    return nrow, rows


def make_grid(images: np.ndarray, nrow: int | None = None, padding: int = 2, pad_value: int = 0, scale: int = 1):
    """Tile uint8 images (N, H, W) into one PIL image, `nrow` images per row, each pixel drawn
    `scale` x `scale` (for tiny digits on screen).

    `nrow` defaults to ceil(sqrt(N)) so a batch comes out as a square; more than N is N. The
    canvas size is checked before anything is allocated.
    """
    from PIL import Image

    images = np.asarray(images)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]  # (N, 1, H, W) -> (N, H, W)
    if images.ndim != 3 or images.shape[0] == 0:
        raise GantoolError(f"grid needs a non-empty (N, H, W) array, got shape {images.shape}")
    if images.dtype != np.uint8:
        raise GantoolError(f"grid needs uint8 images, got {images.dtype}")
    n, h, w = images.shape
    nrow, rows = check_grid(n, h, w, nrow, scale, padding)
    canvas = np.full(
        (rows * (h + padding) + padding, nrow * (w + padding) + padding), pad_value, dtype=np.uint8
    )
    for i, img in enumerate(images):
        r, c = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + c * (w + padding)
        canvas[y : y + h, x : x + w] = img
    if scale > 1:
        canvas = np.kron(canvas, np.ones((scale, scale), dtype=np.uint8))
    return Image.fromarray(canvas, mode="L")


def save_png(image, path: str | os.PathLike) -> Path:
    """Save a PIL image atomically (temp file + rename)."""
    from gantool.core.fileio import atomic_path

    path = Path(path)
    if not path.parent.is_dir():
        raise GantoolError(f"output directory {str(path.parent)!r} does not exist; create it first")
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return path
