"""Writing sampled images where the user asked: a PNG grid, a folder of PNGs, or a .npy array."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from gantool.core.errors import GantoolError
from gantool.core.fileio import atomic_path
from gantool.runtime.grid import make_grid, save_png


def check_images_out(text: str) -> tuple[Path, bool]:
    """Validate an output before any work: `grid.png`, `x.npy`, or `DIR/` (a trailing slash or an
    existing directory: one PNG per image). Returns (path, as_dir)."""
    out = Path(text)
    as_dir = text.endswith(("/", os.sep)) or out.is_dir()
    if as_dir:
        if out.exists() and not out.is_dir():
            raise GantoolError(
                f"--out {text!r}: {str(out)!r} is a file, not a directory; "
                "drop the trailing slash or choose another name"
            )
        if not (out.is_dir() or out.parent.is_dir()):
            raise GantoolError(f"output directory {str(out.parent)!r} does not exist; create it first")
        return out, True
    if out.suffix.lower() not in (".png", ".npy"):
        raise GantoolError(f"--out {text!r}: use a .png file, a .npy file or a directory ending in /")
    if not out.parent.is_dir():
        raise GantoolError(f"output directory {str(out.parent)!r} does not exist; create it first")
    return out, False


def save_images(images: np.ndarray, out: Path, as_dir: bool, nrow: Optional[int] = None, scale: int = 1) -> str:
    """Write uint8 images (N, H, W) as checked by check_images_out; returns what was written."""
    if as_dir:
        try:
            out.mkdir(exist_ok=True)
        except OSError as e:
            raise GantoolError(f"cannot create {str(out)!r} ({e.strerror or e}); choose another --out") from None
        for i, img in enumerate(images):
            save_png(make_grid(img[None], 1, padding=0, scale=scale), out / f"{i:05d}.png")
        return f"wrote {len(images)} PNGs to {out}"
    if out.suffix.lower() == ".npy":
        with atomic_path(out) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, images)
        return f"wrote {out}: uint8 array of shape {images.shape}"
    save_png(make_grid(images, nrow, scale=scale), out)
    return f"wrote {out}: grid of {len(images)} image{'s' if len(images) != 1 else ''}"
