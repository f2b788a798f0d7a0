"""The bytes of a data set: MNIST's IDX files written region by region, and deterministic .npz shards.

IDX (http://yann.lecun.com/exdb/mnist/): a big-endian header (0, 0, 0x08 = uint8, ndim; then each
dimension as uint32) and the raw uint8 array: MNIST's own format, read by MNIST readers as it is
(gantool's --dataset idx among them). Shard k's images are the bytes at a fixed offset, so workers
write their regions of one preallocated file in any order with os.pwrite.

.npz: numpy's zip of .npy members (`images` (n, H, W) uint8, `labels` (n,) uint8). numpy's own savez
stamps the time into each zip entry; this writer fixes it, so a shard's SHA-256 depends on its pixels.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import struct
import zipfile
from pathlib import Path
from typing import Optional

import numpy as np

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def idx_header(shape: tuple[int, ...]) -> bytes:
    """The IDX header of a uint8 array of `shape` (first axis: the images)."""
    return bytes((0, 0, 0x08, len(shape))) + b"".join(struct.pack(">I", d) for d in shape)


def idx_names(prefix: str, image_shape: tuple[int, ...], labelled: bool) -> list[str]:
    names = [f"{prefix}-images-idx{1 + len(image_shape)}-ubyte"]
    return names + ([f"{prefix}-labels-idx1-ubyte"] if labelled else [])


def create_sized(path: Path, header: bytes, body_bytes: int) -> None:
    """A file of header + body_bytes (sparse zeros), the target of pwrite regions."""
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(len(header) + body_bytes)


def write_region(path: Path, offset: int, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        view, written = memoryview(data), 0
        while written < len(view):
            written += os.pwrite(fd, view[written:], offset + written)
    finally:
        os.close(fd)


def region_sha256(path: Path, offset: int, size: int) -> Optional[str]:
    """SHA-256 of bytes [offset, offset+size) of path, None if the file is shorter."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            left = size
            while left:
                block = f.read(min(left, 1 << 20))
                if not block:
                    return None
                h.update(block)
                left -= len(block)
    except OSError:
        return None
    return h.hexdigest()


def npz_bytes(arrays: dict[str, np.ndarray], deflate: bool) -> bytes:
    """A .npz whose bytes depend only on the arrays (np.load reads it)."""
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        for name, arr in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_EPOCH)
            info.compress_type, info.external_attr = method, 0o644 << 16
            z.writestr(info, member.getvalue(), compresslevel=6 if deflate else None)
    return buf.getvalue()


def gzip_file(src: Path, dst: Path) -> None:
    """src -> dst gzipped, with no name and mtime 0 in the header: the same bytes every run."""
    with open(src, "rb") as fin, open(dst, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as fout:
            while block := fin.read(1 << 22):
                fout.write(block)
