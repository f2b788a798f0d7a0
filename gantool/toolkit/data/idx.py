"""IDX reader (the MNIST file format), validating every header field.

IDX: 2 zero bytes, a type code (0x08 = uint8), the number of dimensions, then
one big-endian uint32 per dimension, then the data. `.gz` files are inflated.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from gantool.core.errors import GantoolError

MAX_IDX_BYTES = 1 << 30  # 1 GiB: 20x full MNIST; bounds what a hostile file makes us allocate


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file of uint8 data -> array of the header's shape."""
    path = Path(path)
    try:
        raw = _read(path)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise GantoolError(f"corrupt IDX file {str(path)!r}: {e}; re-download or re-extract it") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise GantoolError(f"corrupt IDX file {str(path)!r}: bad magic number; is it an MNIST IDX file?")
    if raw[2] != 0x08:
        raise GantoolError(f"unsupported IDX file {str(path)!r}: data type 0x{raw[2]:02x}, only uint8 (0x08)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise GantoolError(f"corrupt IDX file {str(path)!r}: truncated header; re-download it")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = math.prod(shape)  # exact: a lying header cannot overflow it
    if len(raw) - header != expected:
        raise GantoolError(
            f"corrupt IDX file {str(path)!r}: header promises {expected} bytes of data, "
            f"found {len(raw) - header}; re-download it"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()  # writable


def _read(path: Path) -> bytes:
    """The file's bytes, inflated if .gz, refusing more than MAX_IDX_BYTES (a gzip bomb)."""
    if path.suffix != ".gz":
        if path.stat().st_size > MAX_IDX_BYTES:
            raise GantoolError(
                f"IDX file {str(path)!r} is larger than {MAX_IDX_BYTES >> 20} MB; not an MNIST-size dataset"
            )
        return path.read_bytes()
    with gzip.open(path, "rb") as f:
        raw = f.read(MAX_IDX_BYTES + 1)
    if len(raw) > MAX_IDX_BYTES:
        raise GantoolError(
            f"IDX file {str(path)!r} inflates to more than {MAX_IDX_BYTES >> 20} MB; not an MNIST-size dataset"
        )
    return raw


def find_idx_pair(directory: Path, split: str) -> tuple[Path, Path] | None:
    """Find `<prefix>-images-idx3-ubyte[.gz]` and its labels file for a split.

    Looks in `directory`, and in the layouts torchvision uses (`MNIST/raw`,
    `FashionMNIST/raw`), so a folder a user already downloaded works as is.
    """
    prefix = "train" if split == "train" else "t10k"
    for d in (directory, directory / "MNIST" / "raw", directory / "FashionMNIST" / "raw", directory / "raw"):
        for ext in ("", ".gz"):
            images = d / f"{prefix}-images-idx3-ubyte{ext}"
            labels = d / f"{prefix}-labels-idx1-ubyte{ext}"
            if images.is_file() and labels.is_file():
                return images, labels
    return None


def load_idx_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise GantoolError(f"{str(images_path)!r} holds images of shape {images.shape[1:]}, expected 28x28")
    if labels.ndim != 1 or len(labels) != len(images):
        raise GantoolError(
            f"{str(labels_path)!r} holds {labels.shape} labels for {len(images)} images; the files do not match"
        )
    if len(images) == 0:
        raise GantoolError(f"{str(images_path)!r} holds no images")
    return images, labels
