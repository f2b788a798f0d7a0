"""Image grids and PNG output (numpy + pillow only)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from gantool.core.errors import GantoolError


def make_grid(images: np.ndarray, nrow: int | None = None, padding: int = 2, pad_value: int = 0):
    """Tile uint8 images (N, H, W) into one PIL image, `nrow` images per row.

    `nrow` defaults to ceil(sqrt(N)) so a batch comes out as a square.
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
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    if nrow < 1:
        raise GantoolError(f"nrow must be >= 1, got {nrow}")
    rows = math.ceil(n / nrow)
    canvas = np.full(
        (rows * (h + padding) + padding, nrow * (w + padding) + padding), pad_value, dtype=np.uint8
    )
    for i, img in enumerate(images):
        r, c = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + c * (w + padding)
        canvas[y : y + h, x : x + w] = img
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
